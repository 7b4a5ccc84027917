//! Pagination: keyset stability while inserting, cursors that cannot be forged or reused
//! across lists, PageSize rules, aliases and Skip.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

const ASSETS: &str = "/v1/tenants/acme/assets";

async fn create_named(app: &TestApp, t: &str, name: &str) -> String {
    let mut body = text_asset(&[("a", "b")]);
    body["name"] = json!(name);
    let r = app.post(ASSETS, t, body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    r.body["asset"]["id"].as_str().unwrap().to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn keyset_pages_are_stable_while_items_are_inserted() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(create_named(&app, &t, &format!("asset {i}")).await);
    }
    let first = app.get(&format!("{ASSETS}?PageSize=3"), &t).await.body;
    assert_eq!(first["totalCount"], 7);
    assert_eq!(
        ids(&first),
        created.iter().rev().take(3).cloned().collect::<Vec<_>>(),
        "newest first"
    );

    // New assets arrive between pages: they belong before the cursor and must not shift it.
    create_named(&app, &t, "late 1").await;
    create_named(&app, &t, "late 2").await;

    let mut seen = ids(&first);
    let mut token = first["nextPageToken"].as_str().unwrap().to_owned();
    loop {
        let page = app
            .get(&format!("{ASSETS}?PageSize=3&PageToken.Cursor={token}"), &t)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["totalCount"], 9, "totalCount is exact now");
        seen.extend(ids(&page.body));
        match page.body["nextPageToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "every original item exactly once, in order");
}

#[tokio::test]
async fn tampered_and_foreign_cursors_are_400() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    for i in 0..3 {
        create_named(&app, &t, &format!("asset {i}")).await;
    }
    let page = app.get(&format!("{ASSETS}?PageSize=1"), &t).await.body;
    let cursor = page["nextPageToken"].as_str().unwrap().to_owned();

    let mut tampered = cursor.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let p = app
        .get(&format!("{ASSETS}?PageToken.Cursor={tampered}"), &t)
        .await;
    assert_eq!(
        p.problem(400, "/problems/validation")["errors"][0]["field"],
        "PageToken.Cursor"
    );
    app.get(&format!("{ASSETS}?PageToken.Cursor=garbage"), &t)
        .await
        .problem(400, "/problems/validation");
    // A cursor of one list is no good for another: other search, other tenant, other resource.
    app.get(
        &format!("{ASSETS}?search=asset&PageToken.Cursor={cursor}"),
        &t,
    )
    .await
    .problem(400, "/problems/validation");
    let other = token_for("other", "assets:read");
    app.get(
        &format!("/v1/tenants/other/assets?PageToken.Cursor={cursor}"),
        &other,
    )
    .await
    .problem(400, "/problems/validation");
    let asset = ids(&page)[0].clone();
    app.get(
        &format!("{ASSETS}/{asset}/operations?PageToken.Cursor={cursor}"),
        &t,
    )
    .await
    .problem(400, "/problems/validation");
    // The untampered cursor still works, under its alias too.
    assert_eq!(
        app.get(&format!("{ASSETS}?PageSize=1&pageToken={cursor}"), &t)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn page_size_is_validated_clamped_and_aliased_and_skip_offsets() {
    let app = TestApp::spawn().await;
    let t = app.token("acme");
    for size in ["0", "-1", "abc", "1.5"] {
        let p = app.get(&format!("{ASSETS}?PageSize={size}"), &t).await;
        assert_eq!(
            p.problem(400, "/problems/validation")["errors"][0]["field"],
            "PageSize",
            "PageSize={size}"
        );
    }
    app.get(&format!("{ASSETS}?PageToken.Skip=-1"), &t)
        .await
        .problem(400, "/problems/validation");
    app.get(&format!("{ASSETS}?PageToken.Skip=99999999999"), &t)
        .await
        .problem(400, "/problems/validation");

    // 1,001 assets: a PageSize above the maximum is clamped to 1,000.
    let created: Vec<String> = futures::future::join_all((0..1001).map(|i| {
        let (app, t) = (&app, &t);
        async move { create_named(app, t, &format!("bulk {i}")).await }
    }))
    .await;
    let r = app.get(&format!("{ASSETS}?PageSize=5000"), &t).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1000);
    assert_eq!(r.body["totalCount"], 1001);
    let rest = app
        .get(
            &format!(
                "{ASSETS}?pageSize=5000&pageToken={}",
                r.body["nextPageToken"].as_str().unwrap()
            ),
            &t,
        )
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert!(rest.body["nextPageToken"].is_null());
    let all: HashSet<String> = ids(&r.body).into_iter().chain(ids(&rest.body)).collect();
    assert_eq!(all, created.into_iter().collect::<HashSet<_>>());

    let default = app.get(ASSETS, &t).await;
    assert_eq!(
        default.body["items"].as_array().unwrap().len(),
        50,
        "default PageSize is 50"
    );
    let skipped = app
        .get(&format!("{ASSETS}?PageSize=3&PageToken.Skip=2"), &t)
        .await;
    assert_eq!(ids(&skipped.body), ids(&default.body)[2..5].to_vec());
}
