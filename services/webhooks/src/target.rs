//! Which URLs a webhook may call. Outside development, never loopback, private, link-local or
//! otherwise internal addresses: a webhook must not become a way to reach the platform's own
//! network (SSRF). Checked when an endpoint is saved (literal addresses and `localhost`) and
//! again before every attempt (what the name resolves to now).
use std::net::IpAddr;

use stagecast_kit::ApiError;
use url::Url;

const MAX_URL_BYTES: usize = 2048;

fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                // 0.0.0.0/8 "this network", 240.0.0.0/4 reserved.
                || v4.octets()[0] == 0
                || v4.octets()[0] >= 240
                // 100.64.0.0/10 carrier-grade NAT, 192.0.0.0/24 protocol assignments,
                // 198.18.0.0/15 benchmarking.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
                || (v4.octets()[0..3] == [192, 0, 0])
                || (v4.octets()[0] == 198 && (v4.octets()[1] & 0xfe) == 18)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link local.
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.is_multicast()
                // fec0::/10 site local (deprecated, still routable inside some networks).
                || (v6.segments()[0] & 0xffc0) == 0xfec0
                // Addresses that embed an IPv4 one: mapped, NAT64 64:ff9b::/96, 6to4 2002::/16,
                // and the old IPv4-compatible ::a.b.c.d.
                || v6.to_ipv4_mapped().is_some_and(|v4| internal(IpAddr::V4(v4)))
                || (v6.segments()[0..6] == [0x64, 0xff9b, 0, 0, 0, 0] && internal(IpAddr::V4(embedded_v4(&v6, 6))))
                || (v6.segments()[0] == 0x2002 && internal(IpAddr::V4(embedded_v4(&v6, 1))))
                || (v6.segments()[0..6] == [0, 0, 0, 0, 0, 0] && internal(IpAddr::V4(embedded_v4(&v6, 6))))
        }
    }
}

/// The IPv4 address in segments `at` and `at + 1` of `v6`.
fn embedded_v4(v6: &std::net::Ipv6Addr, at: usize) -> std::net::Ipv4Addr {
    let s = v6.segments();
    let (hi, lo) = (s[at], s[at + 1]);
    std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
}

/// An endpoint URL as the owner gave it: absolute http(s), at most 2 KiB, and (unless private
/// addresses are allowed) not naming an internal address.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ApiError::invalid("url_required", "url is required"));
    }
    if raw.len() > MAX_URL_BYTES {
        return Err(ApiError::invalid("url_too_long", format!("url must be at most {MAX_URL_BYTES} bytes")));
    }
    let url = Url::parse(raw).map_err(|e| ApiError::invalid("invalid_url", format!("url is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid("invalid_url", "url must be an http:// or https:// URL"));
    }
    let Some(host) = url.host() else { return Err(ApiError::invalid("invalid_url", "url must name a host")) };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid("invalid_url", "put no credentials in the URL; verify our signature instead"));
    }
    if !allow_private {
        let refused = match host {
            url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost"),
            url::Host::Ipv4(ip) => internal(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => internal(IpAddr::V6(ip)),
        };
        if refused {
            return Err(ApiError::invalid(
                "url_not_allowed",
                "url points at a loopback or private address; use an address reachable from the internet",
            ));
        }
    }
    Ok(url)
}

/// Before an attempt: what the host resolves to now must be allowed.
pub async fn resolves_allowed(url: &Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for addr in addrs {
        if internal(addr.ip()) {
            return Err(format!("{host} resolves to an internal address"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_pass_and_each_refusal_has_its_code() {
        assert!(check_url("https://example.com/hooks", false).is_ok());
        assert!(check_url("http://93.184.216.34:8080/x", false).is_ok());
        for (bad, code) in [
            ("", "url_required"),
            ("ftp://example.com/", "invalid_url"),
            ("example.com/hooks", "invalid_url"),
            ("https://user:pw@example.com/", "invalid_url"),
            ("http://127.0.0.1:9000/", "url_not_allowed"),
            ("http://localhost/", "url_not_allowed"),
            ("http://10.1.2.3/", "url_not_allowed"),
            ("http://192.168.0.10/", "url_not_allowed"),
            ("http://169.254.169.254/latest/meta-data", "url_not_allowed"),
            ("http://[::1]/", "url_not_allowed"),
            ("http://[fd00::1]/", "url_not_allowed"),
            ("http://[::ffff:127.0.0.1]/", "url_not_allowed"),
            ("http://0.0.0.0/", "url_not_allowed"),
            ("http://198.18.0.1/", "url_not_allowed"),
            ("http://[64:ff9b::a00:1]/", "url_not_allowed"),
            ("http://[2002:c0a8:1::1]/", "url_not_allowed"),
            ("http://[::127.0.0.1]/", "url_not_allowed"),
        ] {
            assert_eq!(check_url(bad, false).unwrap_err().code, code, "{bad}");
        }
        assert!(check_url(&format!("https://example.com/{}", "a".repeat(2100)), false).is_err());
        // Development and tests may call themselves.
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok());
    }
}
