//! The store conformance suite and the tenant-isolation model, public behind
//! the `testing` feature so that every adapter, ours or an integrator's, is
//! held to the same behaviour.
//!
//! - [`conformance`]: one async function per behaviour of the [`Store`]
//!   contract and of the services over it, each taking a fresh `Arc<dyn Store>` and
//!   panicking with a message on failure. [`conformance_tests!`] turns the
//!   whole list into `#[tokio::test]`s for a store factory.
//! - [`isolation`]: random sequences of tenancy operations by random users
//!   with random per-org roles, checked step by step against a model.
//!
//! [`Store`]: crate::store::Store

pub mod conformance;
pub mod isolation;

/// Generates one `#[tokio::test]` per conformance case for a store factory:
/// an `async fn() -> impl Store` path (or closure) that gives each test a
/// fresh, empty store.
///
/// ```ignore
/// regentra_core::conformance_tests!(fresh_store);
/// ```
///
/// A factory that may have no store to give (a server that is not
/// configured) returns an `Option` and is passed as `optional factory`; its
/// tests then pass after printing why they were skipped.
#[macro_export]
macro_rules! conformance_tests {
    (optional $factory:expr) => {
        $crate::conformance_tests!(@each (optional) $factory);
    };
    ($factory:expr) => {
        $crate::conformance_tests!(@each () $factory);
    };
    (@each ($($mode:tt)?) $factory:expr) => {
        $crate::conformance_tests!(@cases ($($mode)?) $factory;
            insert_then_get,
            duplicate_insert_is_already_exists,
            update_bumps_version_and_stale_update_conflicts,
            update_or_delete_of_missing_record_is_not_found,
            delete_removes_record_and_index_entries,
            unique_index_allows_one_holder_per_scope,
            index_entries_follow_updates,
            failed_change_set_leaves_nothing,
            list_orders_by_id_and_pages,
            find_orders_by_id_and_pages,
            scopes_are_isolated,
            bodies_round_trip,
            audit_events_chain_per_org,
            audit_events_page_in_order,
            concurrent_applies_keep_every_chain_unbroken,
            concurrent_updates_apply_once_or_conflict,
            blobs_round_trip_chunk_by_chunk,
            blobs_are_isolated_and_deleted_whole,
            msp_creates_and_lists_its_clients,
            emails_are_unique_on_the_platform,
            staff_assignment_gives_per_client_roles,
            msp_admin_reaches_only_its_own_clients,
            unassigning_staff_removes_only_msp_assignments,
            delegated_access_is_recorded_in_the_client_chain,
            tenant_switching_lists_every_reachable_org,
            denied_operations_change_nothing,
            concurrent_service_updates_apply_or_conflict,
            custom_frameworks_are_checked_and_kept_per_org,
            adopting_reuses_shared_controls_and_is_idempotent,
            a_shared_control_update_shows_in_every_framework,
            expired_evidence_stops_counting,
            unadopt_then_readopt_loses_nothing,
            control_rules_and_optimistic_versions,
            file_evidence_is_streamed_hashed_and_bounded,
            framework_features_unlock_with_adoption,
            sprs_score_starts_at_minus_203_and_credits_partial_mfa,
            reports_and_assessments,
            gaps_put_the_controls_closing_most_requirements_first,
            compliance_permissions_follow_the_matrix,
            policy_versions_are_immutable_once_published,
            policies_from_templates_fill_body_and_controls,
            campaign_launch_resolves_the_audience_once,
            campaign_signatures_become_evidence_of_their_version,
            campaign_closed_rejects_signatures_with_a_clear_error,
            campaign_concurrent_signatures_record_one,
            campaign_reminders_follow_the_cadence,
            campaign_reminders_stop_at_the_maximum,
            campaign_visibility_follows_roles,
            outbox_delivery_is_at_least_once,
            ticket_numbers_are_sequential_under_concurrency,
            ticket_sla_pauses_over_a_weekend_and_keeps_time_on_priority_change,
            ticket_policies_follow_assignment_and_keep_their_revision,
            escalation_fires_once_even_when_the_sweep_runs_twice,
            ticket_requesters_see_only_their_own,
            time_entry_totals_per_ticket_user_and_org,
            assets_link_to_tickets,
            knowledge_base_search_respects_visibility,
            chat_sessions_become_tickets_with_their_transcript,
            psa_permissions_follow_the_matrix,
            api_tokens_authenticate_until_revoked,
            passwords_are_set_and_checked_off_the_record,
            new_members_get_an_initial_password_existing_ones_keep_theirs,
            a_declared_file_hash_must_match_the_stored_bytes,
            hosts_find_every_org_and_the_platform_admin,
            the_outbox_is_read_by_org_managers_only,
            portal_settings_default_then_round_trip,
            portal_slugs_are_unique_across_tenants,
            portal_slug_change_frees_the_old_one,
            portal_by_slug_shows_only_enabled_portals,
            portal_settings_are_invisible_to_other_tenants,
            portal_dashboard_follows_the_settings,
            portal_invalid_update_writes_nothing,
            portal_updates_are_audited_in_the_org_chain,
            portal_by_hostname_serves_only_an_enabled_portal_with_that_host,
        );
    };
    (@cases $mode:tt $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::store::Store> =
                    ::std::sync::Arc::new($crate::conformance_tests!(@make $mode $factory));
                $crate::testing::conformance::$case(store).await;
            }
        )*
    };
    (@make () $factory:expr) => {
        ($factory)().await
    };
    (@make (optional) $factory:expr) => {
        match ($factory)().await {
            Some(store) => store,
            None => return,
        }
    };
}
