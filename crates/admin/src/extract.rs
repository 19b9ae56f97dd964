//! Request extractors that answer with the JSON error body ([`crate::error::ErrorBody`]) and
//! name the offending field, instead of axum's plain-text rejections.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A JSON request body. Requires `Content-Type: application/json`; a syntax error answers
/// 400, a type or value error 422 naming the field path (e.g. `rules[2].kind`).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        // "missing field `x`" and "unknown field `x`, expected ..." name the field themselves.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| text.strip_prefix(p).and_then(|r| r.split('`').next()));
        let field = match (named, path.as_str()) {
            (Some(n), "." | "") => n.to_owned(),
            (Some(n), p) if p == n || p.ends_with(&format!(".{n}")) => p.to_owned(),
            (Some(n), p) => format!("{p}.{n}"),
            (None, "." | "") => "body".to_owned(),
            (None, p) => p.to_owned(),
        };
        if inner.is_syntax() || inner.is_eof() {
            Error::BadRequest { message: format!("invalid JSON: {text}").into(), field: None }
        } else {
            Error::invalid(field, text)
        }
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(inner)
                if matches!(
                    &inner,
                    axum::extract::rejection::FailedToBufferBody::LengthLimitError(_)
                ) =>
            {
                Error::PayloadTooLarge
            }
            other => Error::BadRequest { message: other.body_text().into(), field: None },
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Path parameters. A value that does not parse (e.g. a malformed id) answers 400 naming the
/// parameter.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    _ => None,
                };
                Err(Error::BadRequest { message: e.body_text().into(), field })
            }
            Err(e) => Err(Error::internal(format!("path parameters: {}", e.body_text()))),
        }
    }
}

/// Query parameters. Undecodable input answers 400.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| Error::BadRequest {
                message: e.body_text().into(),
                field: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        kind: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        rules: Vec<Inner>,
    }

    fn field(json: &str) -> Option<String> {
        parse_json::<Body>(json.as_bytes()).err().and_then(|e| e.body().field)
    }

    #[test]
    fn errors_name_the_field() {
        assert!(parse_json::<Body>(br#"{"name":"a","rules":[]}"#).is_ok());
        assert_eq!(field(r#"{"rules":[]}"#).as_deref(), Some("name"));
        assert_eq!(field(r#"{"name":1,"rules":[]}"#).as_deref(), Some("name"));
        assert_eq!(field(r#"{"name":"a","rules":[{"kind":1}]}"#).as_deref(), Some("rules[0].kind"));
        assert_eq!(field(r#"{"name":"a","rules":[{}]}"#).as_deref(), Some("rules[0].kind"));
        assert_eq!(field(r#"{"name":"a","rules":[],"x":1}"#).as_deref(), Some("x"));
        let e = parse_json::<Body>(b"{").unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
    }
}
