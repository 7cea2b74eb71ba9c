//! The secret files a config names (TLS key, password and secret files), so that `serve` can
//! warn when one of them is readable by every user of the machine.

use super::file::SourceSection;
use super::resolve::Config;
use std::path::PathBuf;

/// Each secret file with the key that names it (`tls.key`, `smtp.password_file`...).
pub fn secret_files(config: &Config) -> Vec<(String, PathBuf)> {
    let file = &config.file;
    let mut found = Vec::new();
    if let Some(key) = &file.tls.key {
        found.push(("tls.key".to_owned(), key.clone()));
    }
    if let Some(p) = file.smtp.as_ref().and_then(|s| s.password_file.as_ref()) {
        found.push(("smtp.password_file".to_owned(), p.clone()));
    }
    if let Some(p) = file.mqtt.as_ref().and_then(|m| m.password_file.as_ref()) {
        found.push(("mqtt.password_file".to_owned(), p.clone()));
    }
    for rule in &file.alert_rules {
        if let Some(p) = rule.webhook.as_ref().and_then(|w| w.secret_file.as_ref()) {
            found.push((
                format!("the secret_file of alert {:?}", rule.name),
                p.clone(),
            ));
        }
    }
    for camera in &file.cameras {
        if let SourceSection::Http(h) = &camera.source
            && let Some(p) = &h.password_file
        {
            found.push((
                format!("the password_file of camera {:?}", camera.id),
                p.clone(),
            ));
        }
    }
    found
}
