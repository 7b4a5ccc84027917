//! The schema of an asset's `config`: one object per source type, its parameters' types,
//! allowed values and ranges generated from the source types' descriptors.

use super::*;

pub(super) fn nullable_frequency_schema() -> ObjectBuilder {
    nullable_enum(PollFrequency::ALL.iter().map(|v| v.as_str()))
}

pub(super) fn nullable_weekday_schema() -> ObjectBuilder {
    nullable_enum(Weekday::ALL.iter().map(|v| v.as_str()))
}

pub(super) fn day_of_month_schema() -> ObjectBuilder {
    const DAYS: [&str; 32] = [
        "_1", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9", "_10", "_11", "_12", "_13", "_14",
        "_15", "_16", "_17", "_18", "_19", "_20", "_21", "_22", "_23", "_24", "_25", "_26", "_27",
        "_28", "_29", "_30", "_31", "LAST",
    ];
    nullable_enum(DAYS).description(Some("`_1` … `_31`, or `LAST`."))
}

/// A nullable string of decimal digits from `"0"` to the given pattern's maximum.
fn number_string_schema(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(pattern))
        .description(Some(description))
}

pub(super) fn hour_schema() -> ObjectBuilder {
    number_string_schema("^([0-9]|1[0-9]|2[0-3])$", "`\"0\"` … `\"23\"`.")
}

pub(super) fn minute_schema() -> ObjectBuilder {
    number_string_schema("^([0-9]|[1-5][0-9])$", "`\"0\"` … `\"59\"`.")
}

/// The schema of one source parameter, from its descriptor: type, allowed values, range, and
/// `null` allowed when it is optional (the services treat `null` as absent).
fn parameter_schema(t: SourceType, p: &sources::Property) -> RefOr<Schema> {
    use sources::PropertyType as K;
    let types = |ty: Type| {
        if p.required {
            SchemaType::Type(ty)
        } else {
            SchemaType::from_iter([ty, Type::Null])
        }
    };
    let mut description = p.description.to_owned();
    if let Some(d) = p.default_value {
        description.push_str(&format!(" Default: `{d}`."));
    }
    let string = || {
        ObjectBuilder::new()
            .schema_type(types(Type::String))
            .description(Some(description.clone()))
    };
    let list = |items: RefOr<Schema>| {
        let array = ArrayBuilder::new()
            .items(items)
            .description(Some(description.clone()));
        if p.required {
            array
        } else {
            array.schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        }
    };
    match p.kind {
        K::String if !p.options.is_empty() => string()
            .enum_values(Some(
                p.options
                    .iter()
                    .copied()
                    .map(Value::from)
                    .chain((!p.required).then_some(Value::Null)),
            ))
            .into(),
        K::String if t == SourceType::File => string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into(),
        K::String => string().into(),
        K::Secret => string().write_only(Some(true)).into(),
        K::Boolean => ObjectBuilder::new()
            .schema_type(types(Type::Boolean))
            .description(Some(description))
            .into(),
        K::Integer => {
            let range = sources::PARAMETER_RANGES
                .iter()
                .find(|(s, n, _)| *s == t && *n == p.name)
                .map(|(.., r)| r);
            ObjectBuilder::new()
                .schema_type(types(Type::Integer))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(range.map(|r| *r.start() as f64))
                .maximum(range.map(|r| *r.end() as f64))
                .description(Some(description))
                .into()
        }
        K::StringList => {
            let (format, max) = list_bounds(t, p.name);
            let items = ObjectBuilder::new()
                .schema_type(Type::String)
                .format(format);
            list(items.into())
                .min_items(max.map(|_| 1))
                .max_items(max)
                .into()
        }
        K::ObjectList => list(inline_document().into())
            .min_items(Some(1))
            .max_items(Some(sources::MAX_INLINE_DOCUMENTS))
            .into(),
    }
}

/// The format of a string list's items and its most items: start URLs and upload ids have them,
/// other lists are free.
fn list_bounds(t: SourceType, name: &str) -> (Option<SchemaFormat>, Option<usize>) {
    match (t, name) {
        (SourceType::Web, "urls") => (
            Some(SchemaFormat::Custom("uri".into())),
            Some(sources::MAX_START_URLS),
        ),
        (SourceType::File, _) => (
            Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)),
            Some(sources::MAX_FILES),
        ),
        _ => (None, None),
    }
}

/// One inline document of a `TEXT` asset: `{name, text, contentType?}`.
fn inline_document() -> ObjectBuilder {
    ObjectBuilder::new()
        .property(
            "name",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(1024))
                .pattern(Some("\\S")),
        )
        .required("name")
        .property(
            "text",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(sources::MAX_INLINE_DOCUMENT_BYTES as usize)),
        )
        .required("text")
        .property(
            "contentType",
            nullable_enum(sources::TEXT_CONTENT_TYPES.iter().copied()),
        )
        .property("metadata", super::documents::metadata_schema())
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

/// A source type with its parameters. Its schema is one object per source type, generated from
/// the same descriptors (`assets:sourceTypes`) the services validate with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetConfig {
    pub source_type: String,
    /// Parameters of the source type (see `assets:sourceTypes`); secrets are shown as `"***"`.
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

impl utoipa::PartialSchema for AssetConfig {
    fn schema() -> RefOr<Schema> {
        let mut one_of = OneOfBuilder::new().description(Some(
            "The source type and its parameters (see `assets:sourceTypes`); secrets are write-only and shown as `\"***\"`.",
        ));
        for d in sources::SOURCE_TYPES {
            let mut parameters = ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for p in d.properties {
                parameters = parameters.property(p.name, parameter_schema(d.source_type, p));
                if p.required {
                    parameters = parameters.required(p.name);
                }
            }
            let mut variant = ObjectBuilder::new()
                .title(Some(d.source_type.as_str()))
                .property("sourceType", string_enum([d.source_type.as_str()]))
                .required("sourceType")
                .property("parameters", parameters)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            if d.properties.iter().any(|p| p.required) {
                variant = variant.required("parameters");
            }
            one_of = one_of.item(variant);
        }
        one_of.into()
    }
}

impl ToSchema for AssetConfig {}
