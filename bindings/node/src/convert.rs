//! Arguments JS passes in more than one shape. napi-rs converts the plain
//! ones (strings, numbers, options objects, class instances); these are the
//! others: `now`, form fields as pairs, a `Map` or an object, request headers
//! and bodies. Each refusal is an `InvalidArg` `TypeError` naming the argument.

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{
    Date, Either, Either3, Env, Function, JsObjectValue, JsValue, KeyCollectionMode, KeyConversion,
    KeyFilter, Null, Object, Property, Uint8ArraySlice, Unknown,
};
use napi::{Result, ValueType};

use crate::errors::{OrThrow, invalid_arg};

/// `now`: a `Date`, or milliseconds since the epoch.
pub(crate) type Now<'a> = Either<Date<'a>, f64>;

/// `now` as an options field (absent, `undefined` or `null`: the clock).
pub(crate) type NowField<'a> = Option<Either<Now<'a>, Null>>;

/// The `now` of an options object, if given.
pub(crate) fn now_field<'a, 'b>(field: &'b NowField<'a>) -> Option<&'b Now<'a>> {
    match field {
        Some(Either::A(now)) => Some(now),
        _ => None,
    }
}

/// The time `now` names; the clock when it is absent (the core never reads it).
pub(crate) fn now(env: &Env, value: Option<&Now<'_>>) -> Result<DateTime<Utc>> {
    let millis = match value {
        None => return Ok(clock()),
        Some(Either::A(date)) => date.value_of()?,
        Some(Either::B(millis)) => *millis,
    };
    if !millis.is_finite() {
        return Err(invalid_arg(env, "`now` must be a valid Date"));
    }
    // `as` saturates; the range check rejects what the calendar cannot hold.
    DateTime::from_timestamp_millis(millis.floor() as i64).ok_or_else(|| {
        invalid_arg(
            env,
            format!("`now` ({millis} ms) is outside the supported date range"),
        )
    })
}

/// [`now`], also within the core's range of dates (years 0000 to 9999): a
/// `now` past it throws `TIME_OUT_OF_RANGE` naming `now`, for calls whose
/// core API reports no such error of its own (verify, explain, lint).
pub(crate) fn now_in_range(env: &Env, value: Option<&Now<'_>>) -> Result<DateTime<Utc>> {
    postpolicy::check_now(now(env, value)?).or_throw(env)
}

fn clock() -> DateTime<Utc> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let millis = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// The largest integer a JS number holds exactly.
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS number that is a whole count from 0 to `Number.MAX_SAFE_INTEGER`.
pub(crate) fn whole(value: f64) -> Option<u64> {
    // Exact: a non-negative integer below 2^53.
    (value.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&value)).then_some(value as u64)
}

/// What `value` is, for a message: `null`, `an array`, `a number`, `a Date`, …
pub(crate) fn kind_of(value: &Unknown<'_>) -> Result<String> {
    let article = |name: &str| {
        let vowel = name.starts_with(['a', 'e', 'i', 'o', 'u']);
        format!("{} {name}", if vowel { "an" } else { "a" })
    };
    Ok(match value.get_type()? {
        ValueType::Undefined => "undefined".to_owned(),
        ValueType::Null => "null".to_owned(),
        ValueType::Boolean => article("boolean"),
        ValueType::Number => article("number"),
        ValueType::String => article("string"),
        ValueType::Symbol => article("symbol"),
        ValueType::BigInt => article("bigint"),
        ValueType::Function => article("function"),
        _ if value.is_array()? => article("array"),
        _ => {
            let name = object(value)
                .get_prototype()
                .and_then(|proto| constructor_name(&proto))
                .unwrap_or_default();
            if name.is_empty() {
                article("object")
            } else {
                format!("a {name}")
            }
        }
    })
}

fn constructor_name(proto: &Unknown<'_>) -> Result<String> {
    if proto.get_type()? != ValueType::Object {
        return Ok(String::new());
    }
    let constructor: Unknown<'_> = object(proto).get_named_property("constructor")?;
    if constructor.get_type()? != ValueType::Function {
        return Ok(String::new());
    }
    let name: Either<String, Unknown<'_>> = object(&constructor).get_named_property("name")?;
    Ok(match name {
        Either::A(name) => name,
        Either::B(_) => String::new(),
    })
}

/// `value` (an object or a function) as an `Object`.
pub(crate) fn object<'env>(value: &Unknown<'env>) -> Object<'env> {
    Object::from_raw(value.value().env, value.raw())
}

/// A string, or the value when it is not one.
pub(crate) type StringOr<'a> = Either<String, Unknown<'a>>;

/// The global `name` (`Array`, `Map`, …) as an object.
pub(crate) fn global<'env>(env: &'env Env, name: &str) -> Result<Object<'env>> {
    let value: Unknown<'_> = env.get_global()?.get_named_property(name)?;
    Ok(object(&value))
}

/// A field that may be absent, `undefined` or `null`: napi-rs reads an
/// absent or `undefined` field as `None` but converts `null` as a value.
pub(crate) fn given<T>(value: Option<Either<T, Null>>) -> Option<T> {
    match value {
        Some(Either::A(value)) => Some(value),
        Some(Either::B(Null)) | None => None,
    }
}

/// Whether `value` is `undefined` or `null`.
pub(crate) fn is_nullish(value: &Unknown<'_>) -> Result<bool> {
    Ok(matches!(
        value.get_type()?,
        ValueType::Undefined | ValueType::Null
    ))
}

/// `Array.from(value)`: the items of any iterable (a `Map`, a `Set`, a fetch `Headers`).
fn array_from<'env>(env: &'env Env, value: &Unknown<'env>) -> Result<Object<'env>> {
    let array = global(env, "Array")?;
    let from: Function<'_, Unknown<'_>, Object<'_>> = array.get_named_property("from")?;
    from.apply(array, *value)
}

/// Whether `value` is an instance of the global constructor `name` (`Map`, …).
fn is_instance(env: &Env, value: &Unknown<'_>, name: &str) -> Result<bool> {
    let constructor: Function<'_, Unknown<'_>, Unknown<'_>> =
        env.get_global()?.get_named_property(name)?;
    value.instanceof(constructor)
}

/// Whether `value` is an array or another iterable object.
pub(crate) fn is_iterable(env: &Env, value: &Unknown<'_>) -> Result<bool> {
    if value.get_type()? != ValueType::Object {
        return Ok(false);
    }
    if value.is_array()? {
        return Ok(true);
    }
    let symbol = global(env, "Symbol")?;
    let iterator: Unknown<'_> = symbol.get_named_property("iterator")?;
    object(value).has_property_js(iterator)
}

/// The items of an array or another iterable.
pub(crate) fn items<'env>(env: &'env Env, value: &Unknown<'env>) -> Result<Vec<Unknown<'env>>> {
    let array = if value.is_array()? {
        object(value)
    } else {
        array_from(env, value)?
    };
    (0..array.get_array_length()?)
        .map(|i| array.get_element::<Unknown<'_>>(i))
        .collect()
}

/// An object's own enumerable keys, symbols included, in `Reflect.ownKeys` order.
pub(crate) fn own_keys<'env>(value: &Unknown<'env>) -> Result<Vec<Unknown<'env>>> {
    let names = object(value).get_all_property_names(
        KeyCollectionMode::OwnOnly,
        KeyFilter::Enumerable,
        KeyConversion::NumbersToStrings,
    )?;
    (0..names.get_array_length()?)
        .map(|i| names.get_element::<Unknown<'_>>(i))
        .collect()
}

/// An object's own enumerable string keys and their values, as
/// `Object.entries` gives them.
pub(crate) fn entries<'env>(value: &Unknown<'env>) -> Result<Vec<(String, Unknown<'env>)>> {
    let object = object(value);
    let mut out = Vec::new();
    for key in own_keys(value)? {
        if let Some(name) = string_of(&key) {
            out.push((name, object.get_property::<Unknown<'_>, Unknown<'_>>(key)?));
        }
    }
    Ok(out)
}

/// Form fields (or callback variables): `[name, value]` pairs, a `Map` or an
/// object, of strings. `what` names the argument in messages.
pub(crate) fn string_pairs(
    env: &Env,
    value: &Unknown<'_>,
    what: &str,
) -> Result<Vec<(String, String)>> {
    let refuse = || {
        invalid_arg(
            env,
            format!("{what} must be [name, value] pairs, a Map or an object, of strings"),
        )
    };
    if value.get_type()? != ValueType::Object {
        return Err(refuse());
    }
    let is_list = value.is_array()? || is_instance(env, value, "Map")?;
    if !is_list {
        return entries(value)?
            .into_iter()
            .map(|(name, value)| Ok((name, string_of(&value).ok_or_else(refuse)?)))
            .collect();
    }
    items(env, value)?
        .iter()
        .map(|item| pair(item).and_then(|p| p.ok_or_else(refuse)))
        .collect()
}

/// `[name, value]` with two strings, or `None`.
fn pair(item: &Unknown<'_>) -> Result<Option<(String, String)>> {
    if !item.is_array()? {
        return Ok(None);
    }
    let pair = object(item);
    if pair.get_array_length()? != 2 {
        return Ok(None);
    }
    let name: StringOr<'_> = pair.get_element(0)?;
    let value: StringOr<'_> = pair.get_element(1)?;
    Ok(match (name, value) {
        (Either::A(name), Either::A(value)) => Some((name, value)),
        _ => None,
    })
}

/// The string `value` holds, if it is one.
pub(crate) fn string_of(value: &Unknown<'_>) -> Option<String> {
    if value.get_type().ok()? != ValueType::String {
        return None;
    }
    value
        .coerce_to_string()
        .ok()?
        .into_utf8()
        .ok()?
        .into_owned()
        .ok()
}

/// `String(value)`.
fn to_string(value: &Unknown<'_>) -> Result<String> {
    value.coerce_to_string()?.into_utf8()?.into_owned()
}

/// Request headers as node gives them (an object whose values may be arrays
/// or numbers), a `Map`, a fetch `Headers` or `[name, value]` pairs, as pairs
/// of strings; `undefined` and `null` values are left out.
pub(crate) fn header_pairs(env: &Env, value: &Unknown<'_>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    match value.get_type()? {
        ValueType::Undefined | ValueType::Null => return Ok(out),
        ValueType::Object => {}
        _ => {
            return Err(invalid_arg(
                env,
                "headers must be an object, a Map, a Headers or [name, value] pairs",
            ));
        }
    }
    let mut add = |name: &Unknown<'_>, value: &Unknown<'_>| -> Result<()> {
        if matches!(value.get_type()?, ValueType::Undefined | ValueType::Null) {
            return Ok(());
        }
        let name = to_string(name)?;
        if value.is_array()? {
            for v in items(env, value)? {
                out.push((name.clone(), to_string(&v)?));
            }
        } else {
            out.push((name, to_string(value)?));
        }
        Ok(())
    };
    if is_iterable(env, value)? {
        for item in items(env, value)? {
            let pair = object(&item);
            if !item.is_array()? || pair.get_array_length()? != 2 {
                return Err(invalid_arg(
                    env,
                    "headers must be [name, value] pairs, a Map or an object",
                ));
            }
            add(&pair.get_element(0)?, &pair.get_element(1)?)?;
        }
    } else {
        for (name, v) in entries(value)? {
            add(&env.create_string(&name)?.to_unknown(), &v)?;
        }
    }
    Ok(out)
}

/// A request body: the exact bytes (a string is taken as UTF-8); an
/// `ArrayBuffer` comes as the `Unknown`.
pub(crate) type Body<'a> = Either3<String, Uint8ArraySlice<'a>, Unknown<'a>>;

/// The bytes of a body; `undefined` and `null` are empty.
pub(crate) fn body_bytes(env: &Env, body: Option<Body<'_>>) -> Result<Vec<u8>> {
    Ok(match body {
        None => Vec::new(),
        Some(Either3::A(text)) => text.into_bytes(),
        Some(Either3::B(bytes)) => bytes.to_vec(),
        Some(Either3::C(other)) if is_nullish(&other)? => Vec::new(),
        Some(Either3::C(other)) if other.is_arraybuffer()? => {
            let buffer = global(env, "Buffer")?;
            let from: Function<'_, Unknown<'_>, Uint8ArraySlice<'_>> =
                buffer.get_named_property("from")?;
            from.apply(buffer, other)?.to_vec()
        }
        Some(Either3::C(_)) => {
            return Err(invalid_arg(
                env,
                "body must be a Buffer, a Uint8Array, an ArrayBuffer or a string",
            ));
        }
    })
}

/// A raw request target: `path`, and `query` as sent (`undefined`: split the
/// path at its first `?`; `null`: no query).
pub(crate) type Query<'a> = Either3<String, napi::bindgen_prelude::Null, Unknown<'a>>;

/// `path` and `query` checked: `Some(query)` when the query is given
/// (`Some(None)` for none), `None` when the path is the raw target.
pub(crate) fn target(
    env: &Env,
    path: StringOr<'_>,
    query: Option<Query<'_>>,
) -> Result<(String, Option<Option<String>>)> {
    let Either::A(path) = path else {
        return Err(invalid_arg(
            env,
            "`path` must be the raw request path, a string",
        ));
    };
    let query = match query {
        None => None,
        Some(Either3::A(query)) => Some(Some(query)),
        Some(Either3::B(_)) => Some(None),
        Some(Either3::C(_)) => {
            return Err(invalid_arg(
                env,
                "`query` must be the raw query string or null",
            ));
        }
    };
    Ok((path, query))
}

/// Owned (or copy-on-write) pairs as borrowed ones, for [`record`].
pub(crate) fn pairs<S: AsRef<str>>(pairs: &[(S, S)]) -> impl Iterator<Item = (&str, &str)> {
    pairs
        .iter()
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
}

/// `pairs` as an object with one own, enumerable, writable data property per
/// pair, in order: a record of strings. Defined rather than assigned, so that
/// a name such as `__proto__` is a field and not the object's prototype.
pub(crate) fn record<'env, 'a>(
    env: &'env Env,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Object<'env>> {
    let mut object = Object::new(env)?;
    let properties = pairs
        .into_iter()
        .map(|(name, value)| {
            Property::new()
                .with_name(env, name)?
                .with_napi_value(env, value)
        })
        .collect::<Result<Vec<_>>>()?;
    object.define_properties(&properties)?;
    Ok(object)
}
