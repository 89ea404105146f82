//! The proxy flags (`--domain`, `--url`, `--proxy`, ...) that `config install`, `init` and
//! `add` share, validated into the options the kit's config is written from.

use crate::cli::{ProxyArgs, Switch};
use crate::exit::{failure, Exit};
use crate::settings::ProxyOptions;

/// Validates proxy flags into options (only the flags that were given).
pub fn proxy_options(args: &ProxyArgs) -> anyhow::Result<ProxyOptions> {
    let cacert = match &args.cacert {
        Some(path) => {
            let abs = crate::paths::absolute(path)?;
            if !abs.is_file() {
                return Err(failure(
                    Exit::Usage,
                    format!("--cacert {} does not exist: pass a PEM file", abs.display()),
                ));
            }
            Some(abs)
        }
        None => None,
    };
    Ok(ProxyOptions {
        domain: args.domain.clone(),
        url: args.url.clone(),
        proxy: args.proxy.clone(),
        traffic_token: None,
        cacert,
        connect_to: args.connect_to.clone(),
        api_url: args.api_url.clone(),
        api: args.api.map(Switch::is_on),
        name_key: args.name_key.clone(),
        ttl: args.ttl,
        keepalive: args.keepalive,
        quota_warning: args.quota_warning.map(Switch::is_on),
    }
    .validated()?)
}
