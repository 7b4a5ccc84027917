//! robots.txt as the crawler reads it (texting_robots, with ragd's user agent) and the robots
//! meta/header directives on arbitrary text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(robot) = texting_robots::Robot::new("ragd", data) {
        let _ = robot.allowed("https://example.com/docs/page.html");
        let _ = robot.sitemaps.len();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ragd_pipeline::parse::robots_directives(text);
    }
});
