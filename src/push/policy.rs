//! Which addresses a webhook may reach (SSRF protection).
//!
//! A webhook URL comes from a client, and the server POSTs to it from inside its network; so by
//! default it may reach only public unicast addresses. The check runs on the addresses a
//! connection is actually made to (the resolver filters them), not on the URL when it is
//! registered: a name that resolves to a public address today and to 127.0.0.1 tomorrow (DNS
//! rebinding) is refused tomorrow. Redirects are not followed, so a public webhook cannot bounce
//! the request inward.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What kind of address an IP is, as far as webhooks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// 127.0.0.0/8, ::1, and the unspecified 0.0.0.0/8 and :: (which reach this host).
    Loopback,
    /// RFC 1918, carrier-grade NAT (100.64/10), benchmarking (198.18/15), unique-local fc00::/7.
    Private,
    /// 169.254/16 and fe80::/10: where cloud metadata services live (169.254.169.254).
    LinkLocal,
    /// Multicast, broadcast, reserved and documentation ranges: never a webhook.
    NotUnicast,
}

impl AddressClass {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, ..] = ip.octets();
        if ip.is_loopback() || a == 0 {
            Self::Loopback
        } else if ip.is_private()
            || (a == 100 && (64..128).contains(&b))
            || (a == 198 && (b & 0xfe) == 18)
        {
            Self::Private
        } else if ip.is_link_local() {
            Self::LinkLocal
        } else if ip.is_multicast() || ip.is_broadcast() || ip.is_documentation() || a >= 240 {
            Self::NotUnicast
        } else {
            Self::Public
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        // IPv4 carried in IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96) is judged as IPv4.
        if let Some(v4) = ip.to_ipv4_mapped() {
            return Self::of_v4(v4);
        }
        let s = ip.segments();
        if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
            let [.., c, d] = s;
            return Self::of_v4(Ipv4Addr::from((u32::from(c) << 16) | u32::from(d)));
        }
        if ip.is_loopback() || ip.is_unspecified() {
            Self::Loopback
        } else if (s[0] & 0xfe00) == 0xfc00 {
            Self::Private
        } else if (s[0] & 0xffc0) == 0xfe80 {
            Self::LinkLocal
        } else if ip.is_multicast() || s[0] == 0x2001 && s[1] == 0x0db8 {
            Self::NotUnicast
        } else {
            Self::Public
        }
    }
}

/// The addresses webhooks may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressPolicy {
    /// Allow this host (tests, the conformance suite, a receiver on the same machine).
    pub allow_loopback: bool,
    /// Allow private and link-local networks (webhooks inside a VPC; this includes cloud
    /// metadata addresses, so only where those are not reachable or not sensitive).
    pub allow_private: bool,
}

/// A refused address, as an error the HTTP client carries back to the sender.
#[derive(Debug, Clone, thiserror::Error)]
#[error("webhook address {addr} is refused: {class} addresses are not allowed{hint}")]
pub struct Refused {
    pub addr: IpAddr,
    pub class: &'static str,
    hint: &'static str,
}

impl AddressPolicy {
    /// `Ok` if a webhook may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let refuse = |class, hint| {
            Err(Refused {
                addr: ip,
                class,
                hint,
            })
        };
        match AddressClass::of(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Loopback if self.allow_loopback => Ok(()),
            AddressClass::Loopback => refuse("loopback", " (see --push-allow-loopback)"),
            AddressClass::Private | AddressClass::LinkLocal if self.allow_private => Ok(()),
            AddressClass::Private => refuse("private-network", " (see --push-allow-private)"),
            AddressClass::LinkLocal => {
                refuse("link-local (cloud metadata)", " (see --push-allow-private)")
            }
            AddressClass::NotUnicast => refuse("non-unicast", ""),
        }
    }
}

/// The HTTP client's resolver: resolves with the system resolver and keeps only the addresses
/// the policy allows, so the connection can only go where the check passed.
pub(crate) struct PolicyResolver(pub AddressPolicy);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(r) => {
                        refused.get_or_insert(r);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(r)) => Err(Box::new(r) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        AddressClass::of(s.parse().unwrap())
    }

    #[test]
    fn classifies_the_ranges_ssrf_cares_about() {
        for (ip, want) in [
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.0.9", AddressClass::Loopback),
            ("0.0.0.0", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Loopback),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("64:ff9b::7f00:1", AddressClass::Loopback),
            ("10.0.0.1", AddressClass::Private),
            ("172.16.5.4", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("100.100.100.200", AddressClass::Private),
            ("fd00:ec2::254", AddressClass::Private),
            ("::ffff:10.1.2.3", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("224.0.0.1", AddressClass::NotUnicast),
            ("255.255.255.255", AddressClass::NotUnicast),
            ("2001:db8::1", AddressClass::NotUnicast),
            ("93.184.216.34", AddressClass::Public),
            ("172.32.0.1", AddressClass::Public),
            ("2606:4700::1111", AddressClass::Public),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_refused_addresses() {
        use reqwest::dns::Resolve;
        let strict = PolicyResolver(AddressPolicy::default());
        let name = |s: &str| s.parse::<reqwest::dns::Name>().unwrap();
        let err = match strict.resolve(name("localhost")).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
        let open = PolicyResolver(AddressPolicy {
            allow_loopback: true,
            ..AddressPolicy::default()
        });
        let addrs: Vec<SocketAddr> = open.resolve(name("localhost")).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[test]
    fn the_policy_opens_only_what_it_names() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let strict = AddressPolicy::default();
        assert!(strict.check(ip("127.0.0.1")).is_err());
        assert!(strict.check(ip("169.254.169.254")).is_err());
        assert!(strict.check(ip("8.8.8.8")).is_ok());
        let loopback = AddressPolicy {
            allow_loopback: true,
            ..strict
        };
        assert!(loopback.check(ip("127.0.0.1")).is_ok());
        assert!(loopback.check(ip("10.0.0.1")).is_err());
        let private = AddressPolicy {
            allow_private: true,
            ..strict
        };
        assert!(private.check(ip("10.0.0.1")).is_ok());
        assert!(private.check(ip("127.0.0.1")).is_err());
        assert!(private.check(ip("224.0.0.1")).is_err());
        let msg = strict.check(ip("127.0.0.1")).unwrap_err().to_string();
        assert!(
            msg.contains("loopback") && msg.contains("127.0.0.1"),
            "{msg}"
        );
    }
}
