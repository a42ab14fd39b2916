//! Generated protocol code (private to the protocol layer).
//!
//! The module layout mirrors the protobuf packages because the generated code
//! refers to other packages through relative `super::` paths.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// Terraform plugin protocol 6.10 (`tfplugin6`).
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin auxiliary services (`plugin`): controller, stdio, broker.
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// Well-known types referenced by the protocols (Timestamp, Empty).
pub mod google {
    /// `google.protobuf` well-known types.
    pub mod protobuf {
        tonic::include_proto!("google.protobuf");
    }
}

#[cfg(test)]
mod tests {
    //! Spot checks of wire facts: each test fails if a field number or enum
    //! value in the `.proto` files drifts from the published protocol.

    use super::{google, plugin, tfplugin6};
    use prost::Message;

    /// Encodes a message and returns its bytes.
    fn enc<M: Message>(m: &M) -> Vec<u8> {
        m.encode_to_vec()
    }

    /// Varint key byte for a field number below 16.
    const fn key(field: u8, wire_type: u8) -> u8 {
        (field << 3) | wire_type
    }

    const VARINT: u8 = 0;
    const LEN: u8 = 2;

    #[test]
    fn schema_attribute_write_only_is_field_11() {
        let a = tfplugin6::schema::Attribute {
            write_only: true,
            ..Default::default()
        };
        assert_eq!(enc(&a), vec![0x58, 0x01]);
        let a = tfplugin6::schema::Attribute {
            nested_type: Some(tfplugin6::schema::Object::default()),
            ..Default::default()
        };
        assert_eq!(enc(&a), vec![key(10, LEN), 0x00]);
        let a = tfplugin6::schema::Attribute {
            deprecated: true,
            ..Default::default()
        };
        assert_eq!(enc(&a), vec![key(9, VARINT), 0x01]);
    }

    #[test]
    fn server_capabilities_numbers() {
        let c = tfplugin6::ServerCapabilities {
            plan_destroy: true,
            ..Default::default()
        };
        assert_eq!(enc(&c), vec![key(1, VARINT), 1]);
        let c = tfplugin6::ServerCapabilities {
            get_provider_schema_optional: true,
            ..Default::default()
        };
        assert_eq!(enc(&c), vec![key(2, VARINT), 1]);
        let c = tfplugin6::ServerCapabilities {
            move_resource_state: true,
            ..Default::default()
        };
        assert_eq!(enc(&c), vec![key(3, VARINT), 1]);
        let c = tfplugin6::ServerCapabilities {
            generate_resource_config: true,
            ..Default::default()
        };
        assert_eq!(enc(&c), vec![key(4, VARINT), 1]);
    }

    #[test]
    fn client_capabilities_numbers() {
        let c = tfplugin6::ClientCapabilities {
            deferral_allowed: true,
            write_only_attributes_allowed: true,
        };
        assert_eq!(enc(&c), vec![key(1, VARINT), 1, key(2, VARINT), 1]);
    }

    #[test]
    fn provider_schema_response_numbers() {
        use tfplugin6::get_provider_schema::Response;
        let r = Response {
            diagnostics: vec![tfplugin6::Diagnostic::default()],
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(4, LEN), 0]);
        let r = Response {
            server_capabilities: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(6, LEN), 0]);
        // Map fields: check the lowest (7) and the highest (11) number.
        let mut r = Response::default();
        r.functions
            .insert(String::new(), tfplugin6::Function::default());
        assert_eq!(enc(&r)[0], key(7, LEN));
        let mut r = Response::default();
        r.action_schemas
            .insert(String::new(), tfplugin6::ActionSchema::default());
        assert_eq!(enc(&r)[0], key(11, LEN));
    }

    #[test]
    fn validate_provider_config_diagnostics_is_field_2() {
        let r = tfplugin6::validate_provider_config::Response {
            diagnostics: vec![Default::default()],
        };
        assert_eq!(enc(&r), vec![key(2, LEN), 0]);
    }

    #[test]
    fn plan_resource_change_numbers() {
        let r = tfplugin6::plan_resource_change::Response {
            legacy_type_system: true,
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(5, VARINT), 1]);
        let r = tfplugin6::plan_resource_change::Response {
            planned_identity: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(7, LEN), 0]);
        let q = tfplugin6::plan_resource_change::Request {
            prior_identity: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(enc(&q), vec![key(8, LEN), 0]);
    }

    #[test]
    fn apply_resource_change_numbers() {
        let r = tfplugin6::apply_resource_change::Response {
            legacy_type_system: true,
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(4, VARINT), 1]);
        let r = tfplugin6::apply_resource_change::Response {
            diagnostics: vec![Default::default()],
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(3, LEN), 0]);
    }

    #[test]
    fn enums_and_oneofs() {
        use tfplugin6::schema::nested_block::NestingMode;
        assert_eq!(NestingMode::Group as i32, 5);
        assert_eq!(tfplugin6::diagnostic::Severity::Warning as i32, 2);
        assert_eq!(tfplugin6::deferred::Reason::AbsentPrereq as i32, 3);
        assert_eq!(tfplugin6::StringKind::Markdown as i32, 1);
        let step = tfplugin6::attribute_path::Step {
            selector: Some(tfplugin6::attribute_path::step::Selector::ElementKeyInt(1)),
        };
        assert_eq!(enc(&step), vec![key(3, VARINT), 1]);
    }

    #[test]
    fn ephemeral_renew_at_is_timestamp_field_2() {
        let r = tfplugin6::open_ephemeral_resource::Response {
            renew_at: Some(google::protobuf::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            ..Default::default()
        };
        assert_eq!(enc(&r), vec![key(2, LEN), 2, key(1, VARINT), 1]);
    }

    #[test]
    fn stop_provider_error_field() {
        let r = tfplugin6::stop_provider::Response { error: "x".into() };
        assert_eq!(enc(&r), vec![key(1, LEN), 1, b'x']);
    }

    #[test]
    fn go_plugin_wire_facts() {
        assert_eq!(plugin::stdio_data::Channel::Stdout as i32, 1);
        assert_eq!(plugin::stdio_data::Channel::Stderr as i32, 2);
        let d = plugin::StdioData {
            channel: plugin::stdio_data::Channel::Stderr as i32,
            data: vec![7],
        };
        assert_eq!(enc(&d), vec![key(1, VARINT), 2, key(2, LEN), 1, 7]);
        let c = plugin::ConnInfo {
            service_id: 3,
            knock: Some(plugin::conn_info::Knock {
                ack: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            enc(&c),
            vec![key(1, VARINT), 3, key(4, LEN), 2, key(2, VARINT), 1]
        );
        assert!(enc(&plugin::Empty {}).is_empty());
    }
}
