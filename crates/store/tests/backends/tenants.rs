//! Tenants: CRUD, validation, conflicts and the cascade on delete.

use std::net::SocketAddr;

use ringfence_store::*;

use crate::harness::*;

async fn tenant_crud(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "Acme.Example.COM").await;
    assert_eq!(t.domain.as_str(), "acme.example.com");
    assert_eq!(t.settings.encryption, EncryptionRequirement::Required);
    assert!(!t.settings.international_calling);
    assert_eq!(s.get_tenant(t.id).await.unwrap(), Some(t.clone()));
    let by_domain =
        s.get_tenant_by_domain(&SipDomain::parse("ACME.example.com").unwrap()).await.unwrap();
    assert_eq!(by_domain, Some(t.clone()));
    let other = tenant(s, "beta.example.com").await;
    let names: Vec<_> = s.list_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(names, vec![t.id, other.id]);

    let renamed = s.rename_tenant(t.id, "Acme Corp", &actor()).await.unwrap();
    assert_eq!(renamed.name, "Acme Corp");
    assert!(renamed.updated_at >= t.updated_at);

    let mut settings = t.settings.clone();
    settings.international_calling = true;
    settings.allowed_countries.insert(CountryCode::parse("fr").unwrap());
    settings.encryption = EncryptionRequirement::Preferred;
    settings.inbound_blocks.push(CallerIdBlock { kind: BlockKind::Prefix, value: "+4990".into() });
    settings
        .inbound_blocks
        .push(CallerIdBlock { kind: BlockKind::Anonymous, value: String::new() });
    settings.device_networks.push("192.0.2.0/24".parse().unwrap());
    settings.device_networks.push("2001:db8::/32".parse().unwrap());
    settings.credential_policy.password_rotation_days = Some(90);
    settings.credential_policy.require_user_totp = true;
    settings.fraud_limits.spend_cap_cents_per_day = 12_345;
    settings.notifications.emails.push(Email::parse("noc@acme.example.com").unwrap());
    settings.notifications.webhook_url = Some("https://hooks.example.com/rf".into());
    settings.business_hours = Some(BusinessHours {
        utc_offset_minutes: 60,
        periods: vec![OpenPeriod { weekday: 1, start_minute: 480, end_minute: 1080 }],
    });
    let updated = s.update_tenant_settings(t.id, settings.clone(), &actor()).await.unwrap();
    assert_eq!(updated.settings, settings);
    assert_eq!(s.get_tenant(t.id).await.unwrap().unwrap().settings, settings);

    s.delete_tenant(t.id, &actor()).await.unwrap();
    assert_eq!(s.get_tenant(t.id).await.unwrap(), None);
    assert!(matches!(
        s.delete_tenant(t.id, &actor()).await,
        Err(StoreError::NotFound { what: "tenant" })
    ));
    assert!(matches!(s.rename_tenant(t.id, "x", &actor()).await, Err(StoreError::NotFound { .. })));
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);

    let actions: Vec<_> =
        s.list_audit(Some(t.id), None, 100).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        ["tenant.delete", "tenant.update_settings", "tenant.rename", "tenant.create"]
    );
}

async fn tenant_conflicts_and_invalid_input_change_nothing(db: TestDb) {
    let s = &db.store;
    let t = tenant(s, "acme.example.com").await;
    let before = audit_len(s).await;
    let dup = NewTenant {
        name: "Other".into(),
        domain: SipDomain::parse("ACME.EXAMPLE.COM").unwrap(),
        settings: TenantSettings::new(CountryCode::parse("US").unwrap()),
    };
    let err = s.create_tenant(dup, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { what: "tenant domain" }), "{err:?}");

    let bad_name = NewTenant {
        name: " padded".into(),
        domain: SipDomain::parse("new.example.com").unwrap(),
        settings: TenantSettings::new(CountryCode::parse("US").unwrap()),
    };
    assert!(matches!(
        s.create_tenant(bad_name, &actor()).await,
        Err(StoreError::Invalid { field: "name", .. })
    ));

    let mut bad = t.settings.clone();
    bad.credential_policy.pin_min_length = 4;
    let err = s.update_tenant_settings(t.id, bad, &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "pin_min_length", .. }), "{err:?}");
    assert_eq!(s.get_tenant(t.id).await.unwrap().unwrap(), t);
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);
    assert_eq!(audit_len(s).await, before, "failed calls must not write audit events");
}

async fn delete_tenant_cascades_to_all_its_rows_only(db: TestDb) {
    let s = &db.store;
    let mut ids = Vec::new();
    for domain in ["a.example.com", "b.example.com"] {
        let t = tenant(s, domain).await;
        let u = user(s, Some(t.id), &format!("admin@{domain}"), Role::TenantAdmin).await;
        let e = extension(s, &t, "100").await;
        s.update_extension(
            t.id,
            e.id,
            ExtensionUpdate { owner_user_id: Some(Some(u.id)), ..Default::default() },
            &actor(),
        )
        .await
        .unwrap();
        let e164 = if domain.starts_with('a') { "+4930111111" } else { "+4930222222" };
        s.create_number(t.id, &E164::parse(e164).unwrap(), Some(e.id), &actor()).await.unwrap();
        s.insert_call_record(
            t.id,
            crate::calls::record(now(), CallDirection::Internal, Disposition::Answered, Some(e.id)),
        )
        .await
        .unwrap();
        let b = RegistrationBinding {
            tenant_id: t.id,
            extension_id: e.id,
            contact_uri: format!("sip:100@{domain}:5061;transport=tls"),
            source: "192.0.2.10:5061".parse::<SocketAddr>().unwrap(),
            transport: Transport::Tls,
            expires_at: now() + time::Duration::hours(1),
            call_id: "reg-1".into(),
            cseq: 1,
            instance_id: None,
            reg_id: None,
            user_agent: None,
            path: vec![],
        };
        s.upsert_binding(&b).await.unwrap();
        let (_tok, hash) = generate_token().unwrap();
        let nt = NewApiToken {
            tenant_id: Some(t.id),
            role: Role::TenantAdmin,
            name: "ci".into(),
            token_hash: hash,
        };
        s.create_token(nt, &actor()).await.unwrap();
        ids.push((t, u, e, hash));
    }
    let tables = [
        "users",
        "extensions",
        "phone_numbers",
        "call_records",
        "registration_bindings",
        "api_tokens",
    ];
    for (t, ..) in &ids {
        for table in tables {
            let n = db
                .count(&format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"), t.id.0)
                .await;
            assert_eq!(n, 1, "{table} before delete");
        }
    }
    let (a, a_user, a_ext, a_hash) = &ids[0];
    s.delete_tenant(a.id, &actor()).await.unwrap();
    for table in tables {
        let n =
            db.count(&format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"), a.id.0).await;
        assert_eq!(n, 0, "{table} rows of the deleted tenant");
        let n = db
            .count(&format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"), ids[1].0.id.0)
            .await;
        assert_eq!(n, 1, "{table} rows of the other tenant");
    }
    assert_eq!(s.find_user_by_email(&a_user.email).await.unwrap(), None);
    assert_eq!(s.route_number(&E164::parse("+4930111111").unwrap()).await.unwrap(), None);
    assert!(s.route_number(&E164::parse("+4930222222").unwrap()).await.unwrap().is_some());
    assert_eq!(s.find_token(a_hash).await.unwrap(), None);
    assert_eq!(s.get_extension(a.id, a_ext.id).await.unwrap(), None);
    let acct = s.find_sip_account(&a.domain, &a_ext.number).await.unwrap();
    assert_eq!(acct, None);
    // The audit trail of the deleted tenant stays, and the chain is intact.
    assert!(s.list_audit(Some(a.id), None, 100).await.unwrap().len() >= 6);
    assert!(s.verify_audit_chain().await.unwrap().is_intact());
}

both_backends!(
    tenant_crud,
    tenant_conflicts_and_invalid_input_change_nothing,
    delete_tenant_cascades_to_all_its_rows_only,
);
