//! What users and ssh pass on the command line: HOST as `%h`, URL templates, --connect-to
//! and proxy URLs. Never a panic; whatever is accepted is safe to put into a request line
//! or a Host header (no whitespace or control characters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use novita_proxy::client::parse_connect_to;
use novita_proxy::connect::http_proxy::parse_proxy_url;
use novita_ssh_core::{parse_host, sandbox_url, url_from_template, DEFAULT_DOMAIN};

fn clean(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_graphic())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = parse_host(text) {
        assert!(clean(id.as_str()));
        let url = sandbox_url(&id, 8081, DEFAULT_DOMAIN).expect("a valid ID gives a valid URL");
        assert!(clean(&url.to_string()));
    }
    if let Ok(url) = url_from_template(text, None, 8081) {
        assert!(clean(&url.host_header()) && clean(&url.path_and_query));
    }
    if let Ok((host, _port)) = parse_connect_to(text) {
        assert!(clean(&host));
    }
    if let Ok(proxy) = parse_proxy_url(text, "--proxy") {
        assert!(clean(&proxy.host));
    }
});
