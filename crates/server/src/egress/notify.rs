//! Fraud alerts by email: SMTP (lettre) to the relay in [`super::config::SmtpConfig`], one
//! message per event to the tenant's notification contacts, with the event's explanation.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use ringfence_fraud::FraudEvent;
use ringfence_store::Tenant;

use super::config::SmtpConfig;

/// Sends alert mail.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

fn name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The subject and body of the alert for `event`.
pub fn alert_text(tenant: &Tenant, event: &FraudEvent) -> (String, String) {
    let subject = format!(
        "[Ringfence] Fraud alert for {}: {} ({})",
        tenant.domain.as_str(),
        event.kind.as_str(),
        name(event.severity)
    );
    let mut body = format!(
        "Ringfence's fraud control acted on a call of {} ({}).\r\n\r\n{}\r\n\r\n",
        tenant.name,
        tenant.domain.as_str(),
        event.explanation
    );
    body.push_str(&format!(
        "Event: {}\r\nSeverity: {}\r\n",
        event.kind.as_str(),
        name(event.severity)
    ));
    if let Some(d) = event.destination {
        body.push_str(&format!("Destination: {d}\r\n"));
    }
    if let Some(x) = event.extension {
        body.push_str(&format!("Extension id: {}\r\n", uuid_of(x.0)));
    }
    let actions: Vec<String> = event.actions.iter().map(|a| name(*a)).collect();
    body.push_str(&format!("Actions: {}\r\n", actions.join(", ")));
    body.push_str("\r\nThe event is listed under Fraud events in the admin portal.\r\n");
    (subject, body)
}

fn uuid_of(v: u128) -> String {
    let b = v.to_be_bytes();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl Mailer {
    /// A mailer through `config.server`.
    ///
    /// # Errors
    /// When `config.from` is not an email address.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, String> {
        let from: Mailbox = config.from.parse().map_err(|e| format!("smtp.from: {e}"))?;
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.server.ip().to_string())
                .port(config.server.port())
                .build();
        Ok(Mailer { transport, from })
    }

    /// Mails `event` to the tenant's notification addresses; returns how many were sent.
    pub async fn send(&self, tenant: &Tenant, event: &FraudEvent) -> usize {
        let (subject, body) = alert_text(tenant, event);
        let mut sent = 0;
        for to in &tenant.settings.notifications.emails {
            let Ok(to) = to.as_str().parse::<Mailbox>() else { continue };
            let msg = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(body.clone());
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "alert mail not built");
                    continue;
                }
            };
            match self.transport.send(msg).await {
                Ok(_) => sent += 1,
                Err(e) => tracing::warn!(error = %e, "alert mail not sent"),
            }
        }
        sent
    }
}
