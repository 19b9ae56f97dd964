//! Call history: filtered, paginated JSON and a CSV export. Admins see the tenant's calls,
//! users the calls of the extensions they own.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ringfence_store::{
    CallCursor, CallFilter, CallRecordRepo as _, ExtensionId, ExtensionRepo as _, Role, Tenant,
};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use uuid::Uuid;

use super::tenant_in_scope;
use crate::api::{CallPageView, CallRecordView, Direction, Disposition};
use crate::auth::{Auth, Principal};
use crate::error::{Error, Result};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AdminState;

/// Filters and paging of the call history.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallQuery {
    /// Calls started at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Calls started before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// Calls from or to this extension.
    #[param(value_type = Option<String>, format = Uuid)]
    extension_id: Option<String>,
    /// Only this direction.
    #[param(value_type = Option<Direction>)]
    direction: Option<String>,
    /// Only this disposition.
    #[param(value_type = Option<Disposition>)]
    disposition: Option<String>,
    /// Page size, 1..=1000 (default 100; ignored by the CSV export).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<OffsetDateTime>> {
    v.as_deref()
        .map(|s| {
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| Error::invalid(field, "must be an RFC 3339 date-time"))
        })
        .transpose()
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    field: &str,
    v: &Option<String>,
) -> Result<Option<T>> {
    v.as_deref()
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned()))
                .map_err(|_| Error::invalid(field, format!("unknown value {s:?}")))
        })
        .transpose()
}

/// Builds the store filter, restricted to the caller's own extensions for users.
async fn filter_for(
    state: &AdminState,
    p: &Principal,
    tenant: &Tenant,
    q: &CallQuery,
) -> Result<Option<CallFilter>> {
    let since = parse_time("since", &q.since)?;
    let until = parse_time("until", &q.until)?;
    let direction: Option<Direction> = parse_enum("direction", &q.direction)?;
    let disposition: Option<Disposition> = parse_enum("disposition", &q.disposition)?;
    let ext = q
        .extension_id
        .as_deref()
        .map(|s| s.parse::<Uuid>().map_err(|_| Error::invalid("extension_id", "must be a UUID")))
        .transpose()?;
    let mut extension_ids = Vec::new();
    if p.role == Role::User {
        let me = p.user.as_ref().map(|u| u.id);
        let mine: Vec<ExtensionId> = state
            .store()
            .list_extensions(tenant.id)
            .await?
            .into_iter()
            .filter(|e| e.owner_user_id.is_some() && e.owner_user_id == me)
            .map(|e| e.id)
            .collect();
        match ext {
            Some(e) if !mine.contains(&ExtensionId(e)) => {
                return Err(Error::not_found("extension"));
            }
            Some(e) => extension_ids.push(ExtensionId(e)),
            None if mine.is_empty() => return Ok(None),
            None => extension_ids = mine,
        }
    } else if let Some(e) = ext {
        extension_ids.push(ExtensionId(e));
    }
    if extension_ids.len() > 100 {
        extension_ids.truncate(100);
    }
    Ok(Some(CallFilter {
        since,
        until,
        extension_ids,
        direction: direction.map(Into::into),
        disposition: disposition.map(Into::into),
    }))
}

/// A page of call history, newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/calls", tag = "calls",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), CallQuery),
    responses((status = 200, description = "A page of calls", body = CallPageView)))]
pub(crate) async fn list_calls(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiQuery(q): ApiQuery<CallQuery>,
) -> Result<axum::Json<CallPageView>> {
    let tenant = tenant_in_scope(&state, &p, path.id()).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1 to 1000"));
    }
    let after = q
        .cursor
        .as_deref()
        .map(|c| CallCursor::from_token(c).map_err(|e| Error::from(e).with_field("cursor")))
        .transpose()?;
    let Some(filter) = filter_for(&state, &p, &tenant, &q).await? else {
        return Ok(axum::Json(CallPageView { records: Vec::new(), next_cursor: None }));
    };
    let page = state.store().list_call_records(tenant.id, &filter, limit, after).await?;
    Ok(axum::Json(CallPageView {
        records: page.records.into_iter().map(CallRecordView::from).collect(),
        next_cursor: page.next.map(|c| c.to_token()),
    }))
}

/// Quotes a CSV field (RFC 4180): fields with a comma, quote, CR or LF are enclosed in
/// quotes with inner quotes doubled. Fields a spreadsheet would run as a formula (starting
/// with `=`, `@`, tab, CR, or `+`/`-` not followed by digits only) get a leading `'`.
pub(crate) fn csv_field(s: &str) -> String {
    let formula = match s.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !s[1..].bytes().all(|b| b.is_ascii_digit()) || s.len() == 1,
        _ => false,
    };
    let s = if formula { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\r', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn opt_time(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

/// The matching call history as CSV (all pages, up to the configured maximum of rows).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/calls/export.csv", tag = "calls",
    params(("tenant_id" = Uuid, Path, description = "Tenant id"), CallQuery),
    responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String)))]
pub(crate) async fn export_calls(
    State(state): State<AdminState>,
    Auth(p): Auth,
    ApiPath(path): ApiPath<super::tenants::TenantPath>,
    ApiQuery(q): ApiQuery<CallQuery>,
) -> Result<Response> {
    let tenant = tenant_in_scope(&state, &p, path.id()).await?;
    if let Some(l) = q.limit
        && !(1..=1000).contains(&l)
    {
        return Err(Error::invalid("limit", "must be 1 to 1000"));
    }
    let mut out = String::from(
        "id,call_id,caller,callee,direction,started_at,answered_at,ended_at,duration_s,\
         disposition,sip_status,reason,transport,encrypted,from_extension_id,to_extension_id,\
         forwarded_by,forwarded_by_extension_id,forward_reason\r\n",
    );
    if let Some(filter) = filter_for(&state, &p, &tenant, &q).await? {
        let max = state.config().max_csv_rows;
        let mut after = q
            .cursor
            .as_deref()
            .map(|c| CallCursor::from_token(c).map_err(|e| Error::from(e).with_field("cursor")))
            .transpose()?;
        let mut rows = 0u32;
        loop {
            let page = state
                .store()
                .list_call_records(tenant.id, &filter, 1000.min(max - rows).max(1), after)
                .await?;
            for r in page.records {
                let c = &r.call;
                let fields = [
                    r.id.to_string(),
                    csv_field(&c.call_id),
                    csv_field(&c.caller),
                    csv_field(&c.callee),
                    c.direction.as_str().to_owned(),
                    opt_time(Some(c.started_at)),
                    opt_time(c.answered_at),
                    opt_time(c.ended_at),
                    c.duration_s.to_string(),
                    c.disposition.as_str().to_owned(),
                    c.sip_status.map(|s| s.to_string()).unwrap_or_default(),
                    csv_field(c.reason.as_deref().unwrap_or("")),
                    c.transport.as_str().to_owned(),
                    c.encrypted.to_string(),
                    c.from_extension_id.map(|e| e.to_string()).unwrap_or_default(),
                    c.to_extension_id.map(|e| e.to_string()).unwrap_or_default(),
                    csv_field(c.forwarded_by.as_deref().unwrap_or("")),
                    c.forwarded_by_extension_id.map(|e| e.to_string()).unwrap_or_default(),
                    c.forward_reason.map(|f| f.as_str()).unwrap_or_default().to_owned(),
                ];
                out.push_str(&fields.join(","));
                out.push_str("\r\n");
                rows += 1;
            }
            match page.next {
                Some(n) if rows < max => after = Some(n),
                _ => break,
            }
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"calls.csv\""),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_escaping_rfc4180_and_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("+4930123456"), "+4930123456");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("+cmd"), "'+cmd");
        assert_eq!(csv_field("@x,y"), "\"'@x,y\"");
        assert_eq!(csv_field(""), "");
    }
}
