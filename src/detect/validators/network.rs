//! Validators `ipv4`, `ipv6` and `mac`: a device's network addresses.
//!
//! IPv4: four parts 0-255 without leading zeros, not inside a longer dotted or alphanumeric
//! token. Not a person's address: loopback (127/8), 0.0.0.0, 255.255.255.255, and servers inside
//! URLs and connection strings (after `://`, `@`, `host=`, `server=`, or followed by `:port/`).
//! Version-shaped quads (first part below 10, every part at most 20: `1.2.3.4`, `2.0.0.1`) are
//! weak. IPv6: RFC 4291/5952 text forms (parsed), not `::1` or `::`. MAC: six hex pairs joined
//! by `:` or `-` (one separator throughout), or `xxxx.xxxx.xxxx`; a bare 12-hex-digit string is
//! weak; never all zeros or the broadcast address.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::text::contains_ci;
use super::{Ctx, Verdict};

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// True when `h[..i]` ends a URL scheme or credentials, or a connection-string host key.
fn server_before(h: &[u8], i: usize) -> bool {
    let head = &h[..i];
    if head.ends_with(b"//") || head.ends_with(b"@") || head.ends_with(b"[") {
        return true;
    }
    let tail = &head[head.len().saturating_sub(12)..];
    [&b"host="[..], b"server=", b"host:", b"addr="]
        .iter()
        .any(|k| tail.len() >= k.len() && tail[tail.len() - k.len()..].eq_ignore_ascii_case(k))
}

/// True when `h[i..]` continues as `:port/` (a URL or endpoint).
fn port_path_after(h: &[u8], i: usize) -> bool {
    if h.get(i) != Some(&b':') {
        return false;
    }
    let digits = h[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && matches!(h.get(i + 1 + digits), Some(b'/'))
}

/// Validator `ipv4`.
pub fn check_v4(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    let glued_before = start > 0
        && (hay[start - 1].is_ascii_alphanumeric()
            || (hay[start - 1] == b'.' && start >= 2 && hay[start - 2].is_ascii_digit())
            || hay[start - 1] == b'_');
    let glued_after = hay
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        || (hay.get(end) == Some(&b'.') && hay.get(end + 1).is_some_and(u8::is_ascii_digit));
    if glued_before || glued_after {
        return Verdict::Reject;
    }
    let Ok(text) = std::str::from_utf8(&hay[start..end]) else {
        return Verdict::Reject;
    };
    // Rust's parser rejects leading zeros and parts over 255.
    let Ok(ip) = text.parse::<Ipv4Addr>() else {
        return Verdict::Reject;
    };
    let o = ip.octets();
    if ip.is_loopback() || ip.is_unspecified() || ip.is_broadcast() || o[0] == 0 {
        return Verdict::Reject;
    }
    if server_before(hay, start) || port_path_after(hay, end) {
        return Verdict::Reject;
    }
    let version_shaped = o[0] < 10 && o.iter().all(|&x| x <= 20);
    // "version 1.2.3.4", "ver. 10.1.0.2": a version string, not an address.
    let head = &hay[start.saturating_sub(12)..start];
    if contains_ci(head, b"version") || contains_ci(head, b"ver.") || contains_ci(head, b"build") {
        return Verdict::Reject;
    }
    Verdict::Accept {
        start,
        end,
        weak: version_shaped,
    }
}

/// Validator `ipv6`: the candidate is trimmed from the right until it parses.
pub fn check_v6(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    if start > 0 && (hay[start - 1].is_ascii_alphanumeric() || hay[start - 1] == b':') {
        return Verdict::RejectUntil(end);
    }
    // Every address has `::` or at least six colons (seven, or six before an IPv4 tail): a
    // candidate without them has no prefix that parses.
    let span = &hay[start..end];
    if !span.windows(2).any(|w| w == b"::") && span.iter().filter(|&&b| b == b':').count() < 6 {
        return Verdict::RejectUntil(end);
    }
    let mut e = end;
    while e > start + 2 {
        if let Some(ip) = std::str::from_utf8(&hay[start..e])
            .ok()
            .and_then(|t| t.parse::<Ipv6Addr>().ok())
        {
            let glued = hay
                .get(e)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b':');
            // An address written in letters only (`::a`, `dead:beef::cafe`) is taken for text;
            // so every address holds a digit (the prefilter's `min_digits`).
            let no_digit = !hay[start..e].iter().any(u8::is_ascii_digit);
            if glued
                || no_digit
                || ip.is_loopback()
                || ip.is_unspecified()
                || server_before(hay, start)
            {
                return Verdict::RejectUntil(end);
            }
            return Verdict::Accept {
                start,
                end: e,
                weak: false,
            };
        }
        e -= 1;
    }
    Verdict::RejectUntil(end)
}

/// Validator `mac`.
pub fn check_mac(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if start >= end || end > hay.len() {
        return Verdict::Reject;
    }
    let sep_glued = |i: Option<usize>, j: Option<usize>| match (i, j) {
        (Some(i), Some(j)) => {
            matches!(hay.get(i), Some(b':' | b'-' | b'.')) && hay.get(j).is_some_and(|&b| is_hex(b))
        }
        _ => false,
    };
    if start > 0
        && (hay[start - 1].is_ascii_alphanumeric()
            || sep_glued(Some(start - 1), start.checked_sub(2)))
    {
        return super::reject_run(hay, start);
    }
    if hay.get(end).is_some_and(|b| b.is_ascii_alphanumeric())
        || sep_glued(Some(end), Some(end + 1))
    {
        return super::reject_run(hay, start);
    }
    let s = &hay[start..end];
    let mut buf = [0u8; 12];
    let mut n = 0;
    let mut seps = 0u8;
    let mut sep = 0u8;
    for &b in s {
        if is_hex(b) {
            if n == 12 {
                return Verdict::Reject;
            }
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        } else {
            if sep != 0 && b != sep {
                return Verdict::Reject;
            }
            sep = b;
            seps += 1;
        }
    }
    // The notations in use: six groups of two (`:` or `-`), three groups of four (`.`), or
    // twelve digits bare. So the first group is a whole run of 2, 4 or 12 hex digits (the
    // prefilter's `hex_run_lengths`).
    let notation = match sep {
        0 => true,
        b':' | b'-' => s.len() == 17 && (0..5).all(|k| s[2 + 3 * k] == sep),
        b'.' => s.len() == 14 && s[4] == b'.' && s[9] == b'.',
        _ => false,
    };
    if n != 12 || !notation || buf.iter().all(|&b| b == b'0') || buf.iter().all(|&b| b == b'f') {
        return Verdict::Reject;
    }
    // A bare 12-digit run is a number far more often than a MAC.
    let bare = seps == 0;
    if bare && buf.iter().all(u8::is_ascii_digit) {
        return Verdict::Reject;
    }
    Verdict::Accept {
        start,
        end,
        weak: bare,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Option<bool> {
        let ctx = Ctx::now();
        let i = s.find(|c: char| c.is_ascii_digit())?;
        let j = s[i..]
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(s.len(), |k| i + k);
        match check_v4(s.as_bytes(), i, j, &ctx) {
            Verdict::Accept { weak, .. } => Some(weak),
            _ => None,
        }
    }

    #[test]
    fn ipv4() {
        assert_eq!(v4("192.168.1.20"), Some(false));
        assert_eq!(v4("login from 36.110.5.42"), Some(false));
        assert_eq!(v4("1.2.3.4"), Some(true));
        assert_eq!(v4("127.0.0.1"), None);
        assert_eq!(v4("jdbc:mysql://10.2.3.4:3306/x"), None);
        assert_eq!(v4("1.2.3.4.5"), None);
        assert_eq!(v4("v1.2.3.4"), None);
        assert_eq!(v4("192.168.01.1"), None);
        assert_eq!(v4("256.1.1.1"), None);
    }

    #[test]
    fn ipv6_and_mac() {
        let ctx = Ctx::now();
        let s = b"2001:db8::8a2e:370:7334";
        assert!(matches!(
            check_v6(s, 0, s.len(), &ctx),
            Verdict::Accept { .. }
        ));
        assert!(!matches!(
            check_v6(b"::1", 0, 3, &ctx),
            Verdict::Accept { .. }
        ));
        assert!(!matches!(
            check_v6(b"12:30:45", 0, 8, &ctx),
            Verdict::Accept { .. }
        ));
        let m = b"00:1A:2b:3C:4d:5E";
        assert!(matches!(
            check_mac(m, 0, m.len(), &ctx),
            Verdict::Accept { weak: false, .. }
        ));
        let m = b"00:1A-2b:3C:4d:5E";
        assert_eq!(check_mac(m, 0, m.len(), &ctx), Verdict::Reject);
        let m = b"001a2b3c4d5e";
        assert!(matches!(
            check_mac(m, 0, m.len(), &ctx),
            Verdict::Accept { weak: true, .. }
        ));
        let m = b"ff:ff:ff:ff:ff:ff";
        assert_eq!(check_mac(m, 0, m.len(), &ctx), Verdict::Reject);
        // The notations: six groups of two, three of four, or twelve bare; nothing else.
        let m = b"001a.2b3c.4d5e";
        assert!(matches!(
            check_mac(m, 0, m.len(), &ctx),
            Verdict::Accept { weak: false, .. }
        ));
        for odd in [
            &b"00a.1b2.c3d.4e5"[..],
            b"001a2b:3c4d5e",
            b"0:01a:2b:3c:4d:5e",
        ] {
            assert!(
                !matches!(check_mac(odd, 0, odd.len(), &ctx), Verdict::Accept { .. }),
                "{:?}",
                String::from_utf8_lossy(odd)
            );
        }
    }

    #[test]
    fn an_ipv6_address_holds_a_digit() {
        let ctx = Ctx::now();
        for letters in [&b"::a"[..], b"dead:beef::cafe", b"fe::ab"] {
            assert!(
                !matches!(
                    check_v6(letters, 0, letters.len(), &ctx),
                    Verdict::Accept { .. }
                ),
                "{:?}",
                String::from_utf8_lossy(letters)
            );
        }
        let s = b"fe80::a";
        assert!(matches!(
            check_v6(s, 0, s.len(), &ctx),
            Verdict::Accept { .. }
        ));
    }
}
