//! The eleven A2A operations, named once: their 1.0 method name (JSON-RPC and gRPC), their 0.3
//! JSON-RPC names, and their HTTP+JSON (REST) route. The server bindings, the client and the 0.3
//! translation all read this table, so a route or a name exists in one place only.

use std::fmt;

/// One A2A operation (spec digest §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    SendMessage,
    SendStreamingMessage,
    GetTask,
    ListTasks,
    CancelTask,
    SubscribeToTask,
    CreateTaskPushNotificationConfig,
    GetTaskPushNotificationConfig,
    ListTaskPushNotificationConfigs,
    DeleteTaskPushNotificationConfig,
    GetExtendedAgentCard,
}

/// An HTTP verb of a REST route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    /// The verb as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// An operation's REST route, relative to an agent's base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestRoute {
    /// The verbs it answers; the first is the one a client uses.
    pub verbs: &'static [Verb],
    /// The path: literal segments, `{field}` for a params field, `{field}:action` for a field
    /// followed by a custom method (the field may hold colons itself; the last one splits).
    pub template: &'static str,
    /// Whether a POST carries the params (less the path's fields) as a JSON body. Other verbs
    /// carry them in the query.
    pub body: bool,
}

impl Operation {
    /// Every operation, in the order REST routes are tried (a route with a custom method comes
    /// before the bare one that would also match it).
    pub const ALL: [Operation; 11] = [
        Self::SendMessage,
        Self::SendStreamingMessage,
        Self::ListTasks,
        Self::CancelTask,
        Self::SubscribeToTask,
        Self::GetTask,
        Self::CreateTaskPushNotificationConfig,
        Self::ListTaskPushNotificationConfigs,
        Self::GetTaskPushNotificationConfig,
        Self::DeleteTaskPushNotificationConfig,
        Self::GetExtendedAgentCard,
    ];

    /// The 1.0 name: the JSON-RPC `method` and the gRPC method of `lf.a2a.v1.A2AService`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SendMessage => "SendMessage",
            Self::SendStreamingMessage => "SendStreamingMessage",
            Self::GetTask => "GetTask",
            Self::ListTasks => "ListTasks",
            Self::CancelTask => "CancelTask",
            Self::SubscribeToTask => "SubscribeToTask",
            Self::CreateTaskPushNotificationConfig => "CreateTaskPushNotificationConfig",
            Self::GetTaskPushNotificationConfig => "GetTaskPushNotificationConfig",
            Self::ListTaskPushNotificationConfigs => "ListTaskPushNotificationConfigs",
            Self::DeleteTaskPushNotificationConfig => "DeleteTaskPushNotificationConfig",
            Self::GetExtendedAgentCard => "GetExtendedAgentCard",
        }
    }

    /// The operation a 1.0 name (JSON-RPC method, gRPC method) names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Its 0.3 JSON-RPC names, the current one first (what a client sends), then older aliases
    /// a server still accepts. Empty: 0.3 has no such method (ListTasks).
    pub fn v03_names(self) -> &'static [&'static str] {
        match self {
            Self::SendMessage => &["message/send", "tasks/send"],
            Self::SendStreamingMessage => &["message/stream", "tasks/sendSubscribe"],
            Self::GetTask => &["tasks/get"],
            Self::ListTasks => &[],
            Self::CancelTask => &["tasks/cancel"],
            Self::SubscribeToTask => &["tasks/resubscribe"],
            Self::CreateTaskPushNotificationConfig => &[
                "tasks/pushNotificationConfig/set",
                "tasks/pushNotification/set",
            ],
            Self::GetTaskPushNotificationConfig => &[
                "tasks/pushNotificationConfig/get",
                "tasks/pushNotification/get",
            ],
            Self::ListTaskPushNotificationConfigs => &["tasks/pushNotificationConfig/list"],
            Self::DeleteTaskPushNotificationConfig => &["tasks/pushNotificationConfig/delete"],
            Self::GetExtendedAgentCard => &["agent/getAuthenticatedExtendedCard"],
        }
    }

    /// The operation a 0.3 JSON-RPC name (or alias) names.
    pub fn from_v03_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.v03_names().contains(&name))
    }

    /// Whether it answers with a stream of events.
    pub fn is_streaming(self) -> bool {
        matches!(self, Self::SendStreamingMessage | Self::SubscribeToTask)
    }

    /// Its REST route.
    pub fn rest(self) -> RestRoute {
        use Verb::{Delete, Get, Post};
        let (verbs, template, body): (&'static [Verb], _, _) = match self {
            Self::SendMessage => (&[Post], "/message:send", true),
            Self::SendStreamingMessage => (&[Post], "/message:stream", true),
            Self::GetTask => (&[Get], "/tasks/{id}", false),
            Self::ListTasks => (&[Get], "/tasks", false),
            Self::CancelTask => (&[Post], "/tasks/{id}:cancel", true),
            Self::SubscribeToTask => (&[Post, Get], "/tasks/{id}:subscribe", false),
            Self::CreateTaskPushNotificationConfig => {
                (&[Post], "/tasks/{taskId}/pushNotificationConfigs", true)
            }
            Self::GetTaskPushNotificationConfig => (
                &[Get],
                "/tasks/{taskId}/pushNotificationConfigs/{id}",
                false,
            ),
            Self::ListTaskPushNotificationConfigs => {
                (&[Get], "/tasks/{taskId}/pushNotificationConfigs", false)
            }
            Self::DeleteTaskPushNotificationConfig => (
                &[Delete],
                "/tasks/{taskId}/pushNotificationConfigs/{id}",
                false,
            ),
            Self::GetExtendedAgentCard => (&[Get], "/extendedAgentCard", false),
        };
        RestRoute {
            verbs,
            template,
            body,
        }
    }

    /// The REST operation `verb` and `segments` (the path below an agent's base, split at `/`
    /// and percent-decoded) name, with the params fields the path holds.
    pub fn from_rest(verb: Verb, segments: &[&str]) -> Option<(Self, Vec<(&'static str, String)>)> {
        Self::ALL.into_iter().find_map(|op| {
            let route = op.rest();
            if !route.verbs.contains(&verb) {
                return None;
            }
            route.match_path(segments).map(|fields| (op, fields))
        })
    }
}

impl RestRoute {
    /// The template's segments.
    fn segments(&self) -> impl Iterator<Item = &'static str> {
        self.template.trim_start_matches('/').split('/')
    }

    /// The params fields `segments` fill, if they match the template.
    fn match_path(&self, segments: &[&str]) -> Option<Vec<(&'static str, String)>> {
        let template: Vec<&'static str> = self.segments().collect();
        if template.len() != segments.len() {
            return None;
        }
        let mut fields = Vec::new();
        for (t, s) in template.into_iter().zip(segments) {
            match t.strip_prefix('{') {
                None if t == *s => {}
                None => return None,
                Some(rest) => {
                    let (field, action) = rest.split_once('}')?;
                    let value = match action.strip_prefix(':') {
                        Some(action) => {
                            let (value, got) = s.rsplit_once(':')?;
                            (got == action).then_some(value)?
                        }
                        None => s,
                    };
                    if value.is_empty() {
                        return None;
                    }
                    fields.push((field, value.to_owned()));
                }
            }
        }
        Some(fields)
    }

    /// The path with `field(name)` filled in for each `{name}`, each value percent-encoded; and
    /// the names it used.
    pub fn path(&self, field: impl Fn(&str) -> String) -> (String, Vec<&'static str>) {
        let mut path = String::new();
        let mut used = Vec::new();
        for t in self.segments() {
            path.push('/');
            match t.strip_prefix('{').and_then(|r| r.split_once('}')) {
                Some((name, action)) => {
                    path.push_str(&percent_encode(&field(name)));
                    path.push_str(action);
                    used.push(name);
                }
                None => path.push_str(t),
            }
        }
        (path, used)
    }

    /// The first segments of every route: a leading segment that is none of these is a tenant.
    pub fn roots() -> impl Iterator<Item = &'static str> {
        Operation::ALL
            .into_iter()
            .filter_map(|op| op.rest().segments().next())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_route_parses_back_to_its_operation() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
            for v03 in op.v03_names() {
                assert_eq!(Operation::from_v03_name(v03), Some(op));
            }
            let route = op.rest();
            let (path, used) = route.path(|name| format!("{name}:with/odd chars"));
            let segments: Vec<String> = path
                .trim_start_matches('/')
                .split('/')
                .map(|s| {
                    // What the server does before matching: percent-decode each segment.
                    let bytes: Vec<u8> = s.bytes().collect();
                    let mut out = Vec::new();
                    let mut i = 0;
                    while i < bytes.len() {
                        if bytes[i] == b'%' {
                            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                            out.push(u8::from_str_radix(hex, 16).unwrap());
                            i += 3;
                        } else {
                            out.push(bytes[i]);
                            i += 1;
                        }
                    }
                    String::from_utf8(out).unwrap()
                })
                .collect();
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            for verb in route.verbs {
                let (back, fields) = Operation::from_rest(*verb, &segments).unwrap();
                assert_eq!(back, op, "{} {path}", verb.as_str());
                let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                assert_eq!(names, used);
                for (name, value) in fields {
                    assert_eq!(value, format!("{name}:with/odd chars"));
                }
            }
        }
        assert_eq!(Operation::from_name("message/send"), None);
        assert_eq!(Operation::from_v03_name("ListTasks"), None);
        assert_eq!(Operation::from_rest(Verb::Delete, &["tasks", "t1"]), None);
    }
}
