//! The conformance suite and the tenant-isolation model, public behind the
//! `testing` feature so that every adapter, ours or an integrator's, is held
//! to the same behaviour.
//!
//! - [`contract`]: the store contract, one async function per behaviour of
//!   [`Store`], each taking a fresh `Arc<dyn Store>` and panicking with a
//!   message on failure. [`store_contract_tests!`] turns them into
//!   `#[tokio::test]`s for a store factory: what an adapter must pass.
//! - [`services`]: the services over a store (tenancy, compliance, policies,
//!   tickets, credentials, portals), the same way; [`service_tests!`] runs
//!   them. They need a correct store, so they are worth running on every
//!   store with different transaction or concurrency behaviour (ours: redb in
//!   memory, Postgres); an on-disk redb file adds nothing over memory here.
//! - [`isolation`]: random sequences of tenancy operations by random users
//!   with random per-org roles, checked step by step against a model.
//!
//! Each macro also emits `every_public_case_is_listed`, which fails when a
//! public case function of its part is missing from the macro's list, so a
//! case cannot be written and silently never run.
//!
//! [`Store`]: crate::store::Store

pub mod contract;
pub mod counting;

use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::Result;
use crate::ids::OrgId;
use crate::store::{
    Applied, ChangeSet, IndexScan, PageRequest, Read, ReadResult, Scanned, Scope, Store,
    StoredRecord,
};
pub mod isolation;
pub mod services;

/// Generates one `#[tokio::test]` per store-contract case, in a module
/// `contract`, for a store factory: an `async fn() -> impl Store` path (or
/// closure) in scope where the macro is called, that gives each test a
/// fresh, empty store.
///
/// ```ignore
/// regentra_core::store_contract_tests!(fresh_store);
/// ```
///
/// A factory that may have no store to give (a server that is not
/// configured) returns an `Option` and is passed as `optional factory`; its
/// tests then pass after printing why they were skipped.
#[macro_export]
macro_rules! store_contract_tests {
    (optional $factory:expr) => {
        $crate::store_contract_tests!(@each (optional) $factory);
    };
    ($factory:expr) => {
        $crate::store_contract_tests!(@each () $factory);
    };
    (@each ($($mode:tt)?) $factory:expr) => {
        $crate::__conformance_cases!(contract ($($mode)?) $factory;
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
            audit_events_are_found_by_their_target,
            concurrent_applies_keep_every_chain_unbroken,
            concurrent_updates_apply_once_or_conflict,
            blobs_round_trip_chunk_by_chunk,
            blobs_are_isolated_and_deleted_whole,
            failure_windows_hold_their_limit_until_failures_expire,
            concurrent_reservations_fill_a_window_exactly,
            scan_walks_a_value_range_in_order_both_ways,
            scan_pages_by_cursor_without_gaps_or_repeats,
            scan_by_prefix_finds_composite_values,
            get_many_answers_each_id_in_its_place,
            read_batches_answer_in_order,
            checks_hold_the_version_read,
            draws_number_records_in_the_commit,
            concurrent_draws_give_consecutive_numbers,
            count_tallies_distinct_records_in_a_range,
            the_newest_audit_events_come_first,
            read_batches_list_count_and_the_newest_events,
            a_sweep_claim_is_held_by_one_claimant_at_a_time,
            a_signal_sent_reaches_the_stores_listeners,
        );
    };
}

/// Generates one `#[tokio::test]` per service case, in a module `services`,
/// for a store factory, like [`store_contract_tests!`] (same factory forms).
///
/// ```ignore
/// regentra_core::service_tests!(fresh_store);
/// ```
#[macro_export]
macro_rules! service_tests {
    (optional $factory:expr) => {
        $crate::service_tests!(@each (optional) $factory);
    };
    ($factory:expr) => {
        $crate::service_tests!(@each () $factory);
    };
    (@each ($($mode:tt)?) $factory:expr) => {
        $crate::__conformance_cases!(services ($($mode)?) $factory;
            a_role_changed_before_the_commit_makes_the_write_conflict,
            one_request_reads_the_directory_once,
            delegated_reads_are_recorded_once_per_window,
            a_window_recorded_ahead_of_the_clock_covers_no_read,
            my_organizations_reads_a_bounded_number_of_times,
            msp_creates_and_lists_its_clients,
            an_archived_client_is_closed_until_its_msp_restores_it,
            members_and_the_staff_grid_are_named,
            the_staff_grid_is_applied_whole_or_not_at_all,
            an_invitation_carries_a_name_and_reports_every_problem,
            emails_are_unique_on_the_platform,
            staff_assignment_gives_per_client_roles,
            msp_admin_reaches_only_its_own_clients,
            unassigning_staff_removes_only_msp_assignments,
            delegated_access_is_recorded_in_the_client_chain,
            tenant_switching_lists_every_reachable_org,
            audit_verification_starts_from_its_checkpoint,
            denied_operations_change_nothing,
            concurrent_service_updates_apply_or_conflict,
            a_tenant_admin_cannot_pre_register_an_account_for_another_tenant,
            adding_an_existing_email_reveals_nothing_and_attaches_nothing,
            removed_msp_staff_lose_the_client_access_the_msp_gave_them,
            the_last_admin_cannot_leave_an_org_without_one,
            custom_frameworks_are_checked_and_kept_per_org,
            adopting_reuses_shared_controls_and_is_idempotent,
            a_shared_control_update_shows_in_every_framework,
            expired_evidence_stops_counting,
            unadopt_then_readopt_loses_nothing,
            control_rules_and_optimistic_versions,
            file_evidence_is_streamed_hashed_and_bounded,
            framework_features_unlock_with_adoption,
            scope_settings_leave_out_what_does_not_apply,
            sprs_score_starts_at_minus_203_and_credits_partial_mfa,
            reports_and_assessments,
            framework_keys_and_requirement_ids_are_taken_as_people_write_them,
            gaps_put_the_controls_closing_most_requirements_first,
            compliance_permissions_follow_the_matrix,
            a_controls_history_evidence_state_and_owners,
            policy_versions_are_immutable_once_published,
            policies_from_templates_fill_body_and_controls,
            campaign_launch_resolves_the_audience_once,
            campaign_audience_leaves_out_those_who_cannot_sign,
            campaign_signatures_become_evidence_of_their_version,
            the_signing_view_is_the_campaigns_version_for_those_it_asks,
            campaign_closed_rejects_signatures_with_a_clear_error,
            campaign_concurrent_signatures_record_one,
            campaign_reminders_follow_the_cadence,
            campaign_reminders_stop_at_the_maximum,
            campaign_visibility_follows_roles,
            policy_people_are_named_for_staff_only,
            outbox_delivery_is_at_least_once,
            ticket_numbers_are_sequential_under_concurrency,
            ticket_queues_filter_order_and_page_in_the_store,
            the_cross_client_queue_merges_what_the_caller_reaches,
            queue_counts_are_counted_by_the_store,
            cross_org_queue_counts_sum_what_the_caller_reaches,
            ticket_sla_pauses_over_a_weekend_and_keeps_time_on_priority_change,
            ticket_policies_follow_assignment_and_keep_their_revision,
            escalation_fires_once_even_when_the_sweep_runs_twice,
            sla_escalation_targets_must_reach_the_tickets_org,
            sla_escalation_skips_a_target_who_no_longer_qualifies,
            tickets_are_assigned_to_those_who_work_them,
            evidence_pages_are_store_walks_filtered_by_control_and_expiry,
            time_entry_pages_walk_a_date_range_per_org_and_ticket,
            audit_pages_filter_by_time_range_and_actor,
            other_lists_are_store_pages,
            ticket_requesters_see_only_their_own,
            staff_pages_name_only_the_orgs_people,
            a_tickets_audit_trail_is_its_events_oldest_first,
            ticket_attachments_follow_the_visibility_of_their_comment,
            refused_attachments_leave_nothing_behind,
            a_ticket_holds_a_bounded_number_and_size_of_files,
            a_requester_reopens_their_resolved_ticket_within_the_window,
            time_entry_totals_per_ticket_user_and_org,
            assets_link_to_tickets,
            staff_read_edit_and_retire_assets,
            tickets_list_and_unlink_their_assets,
            knowledge_base_search_respects_visibility,
            knowledge_base_articles_are_read_by_id_under_the_search_rule,
            portal_articles_are_rated_and_listed_most_useful_first,
            staff_edit_publish_unpublish_and_delete_articles,
            articles_written_before_the_status_index_are_backfilled_once,
            a_persons_assets_follow_assignment_and_the_portal_setting,
            an_orgs_time_zone_is_its_sla_calendars,
            chat_sessions_become_tickets_with_their_transcript,
            an_unanswered_chat_can_be_left_as_a_ticket_after_the_wait,
            the_service_desk_lists_an_orgs_chats_newest_activity_first,
            the_cross_org_chat_list_merges_the_orgs_where_the_caller_answers_chats,
            a_new_chat_tells_those_who_answer_the_orgs_chats_once,
            chats_started_before_the_activity_index_are_backfilled_once,
            psa_permissions_follow_the_matrix,
            api_tokens_authenticate_until_revoked,
            passwords_are_set_and_checked_off_the_record,
            new_members_get_an_initial_password_existing_ones_keep_theirs,
            a_session_started_on_a_portal_host_works_only_there,
            login_tokens_expire_when_idle,
            login_tokens_expire_at_their_absolute_lifetime,
            api_tokens_expire_when_their_user_said,
            changing_a_password_needs_the_current_one_and_revokes_the_other_tokens,
            request_metadata_enters_the_audit_chain_bounded,
            the_platform_operator_sets_a_first_password_without_a_current_one,
            a_declared_file_hash_must_match_the_stored_bytes,
            hosts_find_every_org_and_the_platform_admin,
            the_outbox_is_read_by_org_managers_only,
            inbox_lists_a_users_notifications_across_orgs_newest_first,
            marking_read_is_audited_and_independent_of_delivery,
            another_users_notification_is_not_found,
            a_removed_member_no_longer_sees_the_orgs_notifications,
            read_all_marks_every_org_with_one_event_each,
            a_technician_sees_the_sla_warning_addressed_to_them,
            concurrent_marks_read_record_one_event,
            notifications_from_campaigns_become_emails_unless_turned_off,
            ticket_and_chat_notifications_become_emails,
            deliveries_back_off_die_and_are_retried_by_admins,
            campaign_emails_link_to_the_portal_when_the_org_has_one,
            portal_settings_default_then_round_trip,
            portal_slugs_are_unique_across_tenants,
            portal_slug_change_frees_the_old_one,
            portal_by_slug_shows_only_enabled_portals,
            portal_settings_are_invisible_to_other_tenants,
            portal_dashboard_follows_the_settings,
            portal_dashboard_dates_each_frameworks_last_change,
            portal_invalid_update_writes_nothing,
            portal_updates_are_audited_in_the_org_chain,
            portal_by_hostname_serves_only_an_enabled_portal_with_that_host,
            portal_an_unverified_hostname_is_not_served_and_blocks_nobody,
            portal_hostname_verification_takes_the_name_once,
            portal_hostname_approval_is_for_platform_operators,
            mfa_enrolment_becomes_active_only_with_a_valid_code,
            mfa_codes_are_checked_against_the_step_with_one_step_of_skew_and_never_replayed,
            mfa_recovery_codes_work_once_each_and_disabling_needs_a_proof,
            mfa_admin_reset_cannot_reach_beyond_the_admins_tenants,
            org_required_mfa_gives_a_grace_period_then_refuses_members_without_it,
            an_invitation_is_accepted_with_a_new_account_and_works_once,
            an_existing_account_joins_only_when_its_owner_accepts_signed_in,
            invitations_stay_in_their_org,
            expired_revoked_and_replaced_links_are_refused,
            a_link_used_twice_at_once_works_once,
            a_password_reset_works_once_and_revokes_every_token,
            a_password_reset_request_answers_the_same_for_any_email,
            a_password_reset_asked_on_a_portal_links_back_to_it_only_for_its_members,
            org_security_defaults_then_round_trip_audited,
            org_security_is_changed_by_org_managers_only_and_checked,
            sign_in_sessions_end_at_the_shortest_org_limit,
            sessions_are_listed_signed_out_of_and_ended,
            an_escalation_sweep_reads_only_the_tickets_with_something_due,
            failing_notifications_do_not_block_newer_ones,
            a_failed_delivery_is_retried_after_its_backoff,
            a_partly_failed_delivery_remembers_the_targets_it_reached,
            records_written_before_the_due_indexes_are_backfilled_once,
            articles_written_before_the_usefulness_index_are_backfilled_once,
            msp_overview_sums_each_clients_figures_exactly,
            msp_overview_shows_each_role_what_it_may_see,
            msp_overview_is_not_found_outside_the_msp,
            msp_overview_reads_once_per_client,
            records_written_before_the_overview_indexes_are_backfilled_once,
        );
    };
}

/// The shared expansion of [`store_contract_tests!`] and [`service_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($part:ident $mode:tt $factory:expr; $($case:ident),* $(,)?) => {
        // A module per part, so both macros can share a caller's module and
        // the test names say which part failed (`contract::insert_then_get`).
        mod $part {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let store: ::std::sync::Arc<dyn $crate::store::Store> =
                        ::std::sync::Arc::new($crate::__conformance_cases!(@make $mode $factory));
                    $crate::testing::$part::$case(store).await;
                }
            )*

            #[test]
            fn every_public_case_is_listed() {
                $crate::testing::assert_every_case_listed(
                    stringify!($part),
                    $crate::testing::$part::SOURCES,
                    &[$(stringify!($case)),*],
                );
            }
        }
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

/// A store that keeps something alive for as long as it lives: the
/// temporary directory of a file store, a test database. Factories return
/// it so a case's resources go when the case's store does.
#[derive(Debug, Clone)]
pub struct StoreWith<S, G> {
    pub store: S,
    // Dropped after the store (fields drop in order), so a file store is
    // closed before its directory is removed.
    _guard: G,
}

impl<S, G> StoreWith<S, G> {
    pub fn new(store: S, guard: G) -> Self {
        Self {
            store,
            _guard: guard,
        }
    }
}

#[async_trait::async_trait]
impl<S: Store, G: Send + Sync> Store for StoreWith<S, G> {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        self.store.get(scope, kind, id).await
    }
    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>> {
        self.store.get_many(scope, kind, ids).await
    }
    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        self.store.list(scope, kind, page).await
    }
    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>> {
        self.store.scan(scope, kind, scan).await
    }
    async fn read(&self, reads: Vec<Read>) -> Result<Vec<ReadResult>> {
        self.store.read(reads).await
    }
    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<u64> {
        self.store.count(scope, kind, scan).await
    }
    async fn audit_events_before(
        &self,
        org: OrgId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.store.audit_events_before(org, before, limit).await
    }
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        self.store.find(scope, kind, index, value, page).await
    }
    async fn apply(&self, changes: ChangeSet) -> Result<Applied> {
        self.store.apply(changes).await
    }
    async fn reserve_failures(
        &self,
        windows: &[crate::store::FailureWindow],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::FailureReservation> {
        self.store.reserve_failures(windows, now).await
    }
    async fn release_failures(&self, failures: &[crate::store::ReservedFailure]) -> Result<()> {
        self.store.release_failures(failures).await
    }
    async fn forget_failures(&self, key: &str) -> Result<()> {
        self.store.forget_failures(key).await
    }
    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        self.store.put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        self.store.blob_chunk(org, blob, seq).await
    }
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        self.store.delete_blob(org, blob).await
    }
    async fn try_claim_sweep(&self, org: OrgId) -> Result<Option<crate::store::SweepClaim>> {
        self.store.try_claim_sweep(org).await
    }
    async fn ready(&self) -> Result<()> {
        self.store.ready().await
    }
    async fn send_signal(&self, signal: &str) -> Result<()> {
        self.store.send_signal(signal).await
    }
    async fn listen_signals(&self) -> Result<Option<Box<dyn crate::store::SignalListener>>> {
        self.store.listen_signals().await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.store.audit_events(org, after, limit).await
    }
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[crate::audit::Target],
        after: Option<u64>,
        limit: usize,
    ) -> crate::Result<Vec<AuditEvent>> {
        self.store
            .audit_events_about(org, targets, after, limit)
            .await
    }
}

/// A store seen through only the methods every store must implement: the
/// contract's provided ones (`read`, `count`, `audit_events_before`) run
/// their default bodies, as they do for an integrator's store that does not
/// override them, so the contract cases hold those defaults too.
#[derive(Debug, Clone)]
pub struct RequiredOnly<S>(pub S);

#[async_trait::async_trait]
impl<S: Store> Store for RequiredOnly<S> {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> Result<Option<StoredRecord>> {
        self.0.get(scope, kind, id).await
    }
    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredRecord>>> {
        self.0.get_many(scope, kind, ids).await
    }
    async fn list(&self, scope: Scope, kind: &str, page: PageRequest) -> Result<Vec<StoredRecord>> {
        self.0.list(scope, kind, page).await
    }
    async fn scan(&self, scope: Scope, kind: &str, scan: &IndexScan) -> Result<Vec<Scanned>> {
        self.0.scan(scope, kind, scan).await
    }
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> Result<Vec<StoredRecord>> {
        self.0.find(scope, kind, index, value, page).await
    }
    async fn apply(&self, changes: ChangeSet) -> Result<Applied> {
        self.0.apply(changes).await
    }
    async fn put_blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32, data: Vec<u8>) -> Result<()> {
        self.0.put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> Result<Option<Vec<u8>>> {
        self.0.blob_chunk(org, blob, seq).await
    }
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> Result<()> {
        self.0.delete_blob(org, blob).await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.0.audit_events(org, after, limit).await
    }
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[crate::audit::Target],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>> {
        self.0.audit_events_about(org, targets, after, limit).await
    }
}

/// The public case functions in `sources`: `pub async fn name(store:
/// Arc<dyn Store>)` with no return value (fixtures take more or return
/// something, so they are not cases).
pub fn public_cases(sources: &[(&str, &str)]) -> Vec<String> {
    let mut cases = Vec::new();
    for (_, text) in sources {
        let mut rest = *text;
        while let Some(at) = rest.find("pub async fn ") {
            rest = &rest[at + "pub async fn ".len()..];
            let Some(open) = rest.find('(') else { break };
            let name = rest[..open].trim();
            let Some(close) = rest[open..].find(')') else {
                break;
            };
            let params: String = rest[open + 1..open + close]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let after = &rest[open + close + 1..];
            let returns_nothing = after.trim_start().starts_with('{');
            if returns_nothing && params.trim_end_matches(',') == "store:Arc<dynStore>" {
                cases.push(name.to_owned());
            }
        }
    }
    cases
}

/// Panics, naming them, when public cases of `part` are missing from `listed`
/// or listed cases do not exist.
pub fn assert_every_case_listed(part: &str, sources: &[(&str, &str)], listed: &[&str]) {
    let found = public_cases(sources);
    let missing: Vec<&String> = found
        .iter()
        .filter(|c| !listed.contains(&c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "public {part} cases missing from the macro's list in regentra-core/src/testing/mod.rs: {missing:?}"
    );
    assert_eq!(
        found.len(),
        listed.len(),
        "the {part} list names cases that are not public case functions, or names one twice"
    );
    let declared: Vec<&str> = sources
        .iter()
        .filter(|(file, _)| *file == "mod.rs")
        .flat_map(|(_, text)| text.lines())
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    for module in declared {
        let file = format!("{module}.rs");
        assert!(
            sources.iter().any(|(f, _)| *f == file),
            "{part}/{file} is a module but not in {part}::SOURCES, so its cases are not checked"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_told_from_fixtures_and_private_helpers() {
        let source = "
pub async fn a_case(store: Arc<dyn Store>) {}
pub async fn wrapped_case(
    store: Arc<dyn Store>,
) {
}
pub async fn fixture(store: Arc<dyn Store>) -> Fixture {}
pub async fn with_more(store: Arc<dyn Store>, name: &str) {}
async fn private_case(store: Arc<dyn Store>) {}
";
        assert_eq!(
            public_cases(&[("x.rs", source)]),
            ["a_case", "wrapped_case"]
        );
    }

    #[test]
    #[should_panic(expected = "missing from the macro's list")]
    fn an_unlisted_case_fails_the_check() {
        let source = "pub async fn forgotten(store: Arc<dyn Store>) {}";
        assert_every_case_listed("contract", &[("mod.rs", source)], &[]);
    }

    #[test]
    #[should_panic(expected = "not in contract::SOURCES")]
    fn a_module_missing_from_the_sources_fails_the_check() {
        assert_every_case_listed("contract", &[("mod.rs", "mod hidden;\n")], &[]);
    }
}
