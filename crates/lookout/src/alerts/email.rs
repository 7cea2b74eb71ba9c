//! Email alerts through any SMTP server (a local relay, a mail provider, AWS SES's SMTP
//! interface): STARTTLS (587), implicit TLS (465) or plain, with AUTH; the event's snapshot
//! attached when it has one.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine or network.
    None,
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Mailbox,
    /// An extra CA to trust for the server's certificate (a private relay).
    pub ca_file: Option<PathBuf>,
    /// The site's public URL, for links to events (`https://cam.example.org`).
    pub link_base: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One mail.
#[derive(Debug)]
pub struct Mail<'a> {
    pub to: &'a [Mailbox],
    pub subject: String,
    pub text: String,
    /// (file name, JPEG)
    pub attachment: Option<(String, Vec<u8>)>,
}

fn transport(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, Error> {
    let tls = || -> Result<TlsParameters, Error> {
        let mut b = TlsParameters::builder(smtp.host.clone());
        if let Some(ca) = &smtp.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                let msg = format!("cannot read smtp.ca_file {}", ca.display());
                Error::wrap(io_kind(&e), msg, e)
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                let msg = format!("smtp.ca_file {}", ca.display());
                Error::wrap(ErrorKind::InvalidInput, msg, e)
            })?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| Error::wrap(ErrorKind::Internal, "TLS for SMTP", e))
    };
    let tls = match smtp.security {
        Security::StartTls => Tls::Required(tls()?),
        Security::Tls => Tls::Wrapper(tls()?),
        Security::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}

/// Sends `mail`; the error's chain says what failed (it is kept as the outbox row's last
/// error).
pub async fn send(smtp: &SmtpConfig, mail: Mail<'_>) -> Result<(), Error> {
    let mut builder = Message::builder()
        .from(smtp.from.clone())
        .subject(mail.subject);
    for to in mail.to {
        builder = builder.to(to.clone());
    }
    let text = SinglePart::plain(mail.text);
    let message = match mail.attachment {
        Some((name, jpeg)) => builder.multipart(MultiPart::mixed().singlepart(text).singlepart(
            Attachment::new(name).body(
                jpeg,
                ContentType::parse("image/jpeg").map_err(|e| Error::internal(e.to_string()))?,
            ),
        )),
        None => builder.singlepart(text),
    }
    .map_err(|e| Error::wrap(ErrorKind::InvalidInput, "cannot build the mail", e))?;
    let server = format!("SMTP {}:{}", smtp.host, smtp.port);
    // Bounded as a whole (each step has its own timeout too), well inside the outbox lease.
    tokio::time::timeout(Duration::from_secs(45), transport(smtp)?.send(message))
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("{server}: no answer within 45 s"),
            )
        })?
        .map(|_| ())
        .map_err(|e| Error::wrap(ErrorKind::Unavailable, server, e))
}
