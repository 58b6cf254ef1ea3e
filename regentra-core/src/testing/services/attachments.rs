//! Ticket attachments and the requester's side of a ticket: files follow
//! the visibility of their comment, refused files leave nothing behind, the
//! public conversation never shows an internal note, and a requester
//! reopens their own resolved ticket within the window.

use super::*;
use crate::psa::attachments::{NewAttachment, StagedAttachment};
use crate::psa::ticket::{REOPEN_WINDOW, sla_view};

/// A body of `bytes`, in two pieces, as an upload streams in.
fn body(bytes: &[u8]) -> impl futures::Stream<Item = Result<Vec<u8>, String>> + Send + use<> {
    let (a, b) = bytes.split_at(bytes.len() / 2);
    futures::stream::iter(vec![Ok(a.to_vec()), Ok(b.to_vec())])
}

async fn stage(
    r: &Regentra,
    who: &Principal,
    org: OrgId,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> crate::Result<StagedAttachment> {
    let file = NewAttachment {
        name: name.into(),
        content_type: content_type.into(),
    };
    r.stage_attachment(who, org, file, body(bytes)).await
}

async fn read_all(file: crate::compliance::evidence::StoredFile) -> Vec<u8> {
    use futures::StreamExt;
    let mut out = Vec::new();
    let mut chunks = file.chunks;
    while let Some(chunk) = chunks.next().await {
        out.extend(chunk.expect("a chunk"));
    }
    out
}

pub async fn ticket_attachments_follow_the_visibility_of_their_comment(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let [erin, frank] = &f.requesters;
    let shot = stage(
        r,
        erin,
        org,
        "C:\\fakepath\\screen.png",
        "image/png",
        b"png bytes",
    )
    .await
    .expect("staged");
    assert_eq!(shot.name(), "screen.png", "the browser's folder is dropped");
    let ticket = r
        .create_ticket_with_attachments(
            erin,
            org,
            new_ticket("Printer jams", Priority::High),
            vec![shot],
        )
        .await
        .expect("ticket with a file");
    let guide = stage(
        r,
        &f.tech,
        org,
        "guide.pdf",
        "application/pdf",
        b"%PDF guide",
    )
    .await
    .expect("staged");
    let reply = r
        .add_comment_with_attachments(
            &f.tech,
            org,
            ticket.id,
            "Try this guide.",
            true,
            vec![guide],
        )
        .await
        .expect("public reply with a file");
    let secret = stage(
        r,
        &f.tech,
        org,
        "notes.txt",
        "text/plain",
        b"vendor password",
    )
    .await
    .expect("staged");
    let note = r
        .add_comment_with_attachments(
            &f.tech,
            org,
            ticket.id,
            "Vendor login inside.",
            false,
            vec![secret],
        )
        .await
        .expect("internal note with a file");

    // Staff see every file; the requester the ticket's and the public reply's.
    let all = r
        .ticket_attachments(&f.tech, org, ticket.id, PageRequest::first(50))
        .await
        .expect("staff list");
    assert_eq!(all.items.len(), 3);
    let theirs = r
        .ticket_attachments(erin, org, ticket.id, PageRequest::first(50))
        .await
        .expect("requester list");
    let names: Vec<&str> = theirs.items.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["screen.png", "guide.pdf"]);
    assert!(theirs.items[0].comment.is_none() && theirs.items[1].comment == Some(reply.id));
    // Paged: one at a time, the internal file skipped on the way.
    let first = r
        .ticket_attachments(erin, org, ticket.id, PageRequest::first(1))
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 1);
    let second = r
        .ticket_attachments(erin, org, ticket.id, PageRequest::after(first.next, 1))
        .await
        .expect("page 2");
    assert_eq!(second.items[0].name, "guide.pdf");
    let third = r
        .ticket_attachments(erin, org, ticket.id, PageRequest::after(second.next, 1))
        .await
        .expect("page 3");
    assert!(third.items.is_empty() && third.next.is_none(), "{third:?}");

    // The bytes come back as stored, with their hash.
    let guide_id = theirs.items[1].id;
    let file = r
        .open_ticket_attachment(erin, org, ticket.id, guide_id)
        .await
        .expect("the requester opens the public file");
    assert_eq!(
        (file.content_type.as_str(), file.size),
        ("application/pdf", 10)
    );
    assert_eq!(
        file.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"%PDF guide"))
    );
    assert_eq!(read_all(file).await, b"%PDF guide");
    // The note's file: staff only, NotFound like a missing one for anyone else.
    let hidden = all
        .items
        .iter()
        .find(|a| a.comment == Some(note.id))
        .expect("the note's file");
    assert!(!hidden.public);
    expect_not_found(
        r.open_ticket_attachment(erin, org, ticket.id, hidden.id)
            .await,
        "the requester opens an internal file",
    );
    assert_eq!(
        read_all(
            r.open_ticket_attachment(&f.tech, org, ticket.id, hidden.id)
                .await
                .expect("staff open it")
        )
        .await,
        b"vendor password"
    );
    // Another requester, another client's admin, another ticket's path.
    expect_not_found(
        r.open_ticket_attachment(frank, org, ticket.id, guide_id)
            .await,
        "another requester",
    );
    expect_not_found(
        r.ticket_attachments(frank, org, ticket.id, PageRequest::first(5))
            .await,
        "another requester's list",
    );
    let elsewhere = r
        .create_ticket(
            &f.c.msp.admin,
            f.c.clients_other(),
            new_ticket("Other", Priority::Low),
        )
        .await
        .expect("ticket elsewhere");
    expect_not_found(
        r.open_ticket_attachment(&f.c.msp.admin, f.c.clients_other(), elsewhere.id, guide_id)
            .await,
        "the file through another org",
    );
    let other_ticket = r
        .create_ticket(erin, org, new_ticket("Second", Priority::Low))
        .await
        .expect("second ticket");
    expect_not_found(
        r.open_ticket_attachment(erin, org, other_ticket.id, guide_id)
            .await,
        "the file through another ticket",
    );

    // The public conversation: the reply with its author and file, never
    // the note, whoever reads it.
    for reader in [erin, &f.tech] {
        let conversation = r
            .public_conversation(reader, org, ticket.id, None, 50)
            .await
            .expect("conversation");
        assert_eq!(conversation.entries.len(), 1, "{conversation:?}");
        let entry = &conversation.entries[0];
        assert_eq!(entry.comment.id, reply.id);
        assert_eq!(entry.author_name, "tom@northwind.test");
        assert!(!entry.from_requester);
        assert_eq!(entry.attachments.len(), 1);
        assert_eq!(conversation.ticket_attachments.len(), 1);
        assert!(!format!("{conversation:?}").contains("Vendor login"));
    }
    // The requester's own reply, and the page after the last one seen.
    let mine = r
        .add_comment(erin, org, ticket.id, "Thanks, it works.", true)
        .await
        .expect("requester reply");
    let newer = r
        .public_conversation(erin, org, ticket.id, Some(reply.id), 50)
        .await
        .expect("after the last seen");
    assert_eq!(newer.entries.len(), 1);
    assert_eq!(newer.entries[0].comment.id, mine.id);
    assert!(newer.entries[0].from_requester);
    let paged = r
        .public_conversation(erin, org, ticket.id, None, 1)
        .await
        .expect("first page");
    assert_eq!(paged.next, Some(reply.id));
    expect_not_found(
        r.public_conversation(frank, org, ticket.id, None, 50).await,
        "another requester's conversation",
    );

    // Files added after the fact: to one's own reply only, with its visibility.
    let extra = stage(r, erin, org, "log.txt", "text/plain", b"log")
        .await
        .expect("staged");
    expect_invalid(
        r.attach_files(erin, org, ticket.id, Some(reply.id), vec![extra])
            .await,
        "comment",
    );
    let extra = stage(r, erin, org, "log.txt", "text/plain", b"log")
        .await
        .expect("staged");
    expect_not_found(
        r.attach_files(erin, org, ticket.id, Some(note.id), vec![extra])
            .await,
        "the requester names the internal note",
    );
    let extra = stage(r, erin, org, "log.txt", "text/plain", b"log")
        .await
        .expect("staged");
    let added = r
        .attach_files(erin, org, ticket.id, Some(mine.id), vec![extra])
        .await
        .expect("to the requester's own reply");
    assert!(added[0].public && added[0].comment == Some(mine.id));
    let events = actions(&f.c.msp, org).await;
    for action in [
        "ticket.created",
        "ticket.replied",
        "ticket.noted",
        "ticket.attached",
    ] {
        assert!(events.iter().any(|a| a == action), "{action} in {events:?}");
    }
}

pub async fn refused_attachments_leave_nothing_behind(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let small = f.c.r().clone().with_attachment_limit(1000);
    let r = &small;
    let org = f.c.org;
    let [erin, frank] = &f.requesters;
    let viewer = member(&f.c.msp, org, "vera@acme.test", Role::Viewer).await;
    let before = actions(&f.c.msp, org).await.len();
    expect_invalid(
        stage(
            r,
            erin,
            org,
            "big.bin",
            "application/octet-stream",
            &[7; 1001],
        )
        .await,
        "file",
    );
    expect_invalid(
        stage(r, erin, org, "empty.txt", "text/plain", b"").await,
        "file",
    );
    expect_invalid(
        stage(r, erin, org, "setup.exe", "application/octet-stream", b"MZ").await,
        "file",
    );
    expect_invalid(
        stage(r, erin, org, "notes.txt", "application/x-msdownload", b"MZ").await,
        "file",
    );
    expect_invalid(stage(r, erin, org, "   ", "text/plain", b"x").await, "name");
    expect_invalid(
        stage(r, erin, org, "run.exe.", "text/plain", b"MZ").await,
        "file",
    );
    expect_invalid(
        stage(r, erin, org, "photo\u{202e}gpj.exe", "image/jpeg", b"x").await,
        "name",
    );
    // A viewer may not send files; another org's member not even learn of it.
    expect_denied(
        stage(r, &viewer, org, "a.txt", "text/plain", b"x").await,
        "a viewer stages",
    );
    expect_not_found(
        stage(r, erin, f.c.clients_other(), "a.txt", "text/plain", b"x").await,
        "staging in another org",
    );
    // Exactly the limit is fine; active content is kept as plain bytes.
    let page = stage(r, erin, org, "page.html", "text/html", &[b'<'; 1000])
        .await
        .expect("at the limit");
    assert_eq!(page.content_type(), "application/octet-stream");
    // A file staged by someone else is refused, and deleted with the ticket's failure.
    let franks = stage(r, frank, org, "f.txt", "text/plain", b"frank")
        .await
        .expect("staged");
    let blob_of = |s: &StagedAttachment| format!("{s:?}");
    let described = blob_of(&franks);
    expect_invalid(
        r.create_ticket_with_attachments(
            erin,
            org,
            new_ticket("Mine", Priority::Low),
            vec![franks],
        )
        .await,
        "attachments",
    );
    // Too many files at once.
    let mut many = Vec::new();
    for i in 0..11 {
        many.push(
            stage(r, erin, org, &format!("{i}.txt"), "text/plain", b"x")
                .await
                .expect("staged"),
        );
    }
    expect_invalid(
        r.create_ticket_with_attachments(erin, org, new_ticket("Many", Priority::Low), many)
            .await,
        "attachments",
    );
    // A comment that fails (an empty body) takes its files with it.
    let ticket = r
        .create_ticket(erin, org, new_ticket("Plain", Priority::Low))
        .await
        .expect("ticket");
    let one = stage(r, erin, org, "1.txt", "text/plain", b"one")
        .await
        .expect("staged");
    expect_invalid(
        r.add_comment_with_attachments(erin, org, ticket.id, "  ", true, vec![one])
            .await,
        "body",
    );
    r.discard_attachments(vec![page]).await;
    let listed = r
        .ticket_attachments(erin, org, ticket.id, PageRequest::first(50))
        .await
        .expect("list");
    assert!(listed.items.is_empty());
    // Nothing was audited but the one ticket, and no blob is left.
    let events = actions(&f.c.msp, org).await;
    assert_eq!(events.len(), before + 1, "{:?}", &events[before..]);
    let blob = described
        .split("blob: BlobId(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("the staged file names its blob");
    assert_eq!(
        f.c.r()
            .store()
            .blob_chunk(org, blob, 0)
            .await
            .expect("read"),
        None,
        "the refused file's bytes are gone"
    );
}

/// The message of the validation error on `attachments`.
fn attachments_refusal<T: std::fmt::Debug>(result: crate::Result<T>) -> String {
    match result {
        Err(Error::Validation(errors)) => errors
            .iter()
            .find(|e| e.field == "attachments")
            .map(|e| e.message.clone())
            .unwrap_or_else(|| panic!("validation must name `attachments`: {errors:?}")),
        other => panic!("expected a validation error on attachments, got {other:?}"),
    }
}

/// `n` staged files of `size` bytes each.
async fn staged_files(
    r: &Regentra,
    who: &Principal,
    org: OrgId,
    n: usize,
    size: usize,
) -> Vec<StagedAttachment> {
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        files.push(
            stage(
                r,
                who,
                org,
                &format!("{i}.txt"),
                "text/plain",
                &vec![b'x'; size],
            )
            .await
            .expect("staged"),
        );
    }
    files
}

/// Replying again and again does not make a ticket unlimited storage: it
/// holds at most `MAX_TICKET_ATTACHMENTS` files and ten full-size files'
/// bytes, counted from the store, for requesters and staff alike; a
/// refused reply writes nothing and keeps no bytes.
pub async fn a_ticket_holds_a_bounded_number_and_size_of_files(store: Arc<dyn Store>) {
    use crate::psa::attachments::{MAX_ATTACHMENTS, MAX_TICKET_ATTACHMENTS};
    let f = psa_fixture(store, Vec::new()).await;
    // Files of at most 100 bytes: a ticket holds 1,000 bytes of them.
    let small = f.c.r().clone().with_attachment_limit(100);
    let r = &small;
    assert_eq!(r.ticket_attachment_bytes(), 1000);
    let org = f.c.org;
    let [erin, _] = &f.requesters;

    let files = staged_files(r, erin, org, MAX_ATTACHMENTS, 1).await;
    let ticket = r
        .create_ticket_with_attachments(erin, org, new_ticket("Many files", Priority::Low), files)
        .await
        .expect("a ticket with a message's worth of files");
    for i in 1..MAX_TICKET_ATTACHMENTS / MAX_ATTACHMENTS {
        let files = staged_files(r, erin, org, MAX_ATTACHMENTS, 1).await;
        r.add_comment_with_attachments(erin, org, ticket.id, &format!("More {i}"), true, files)
            .await
            .expect("a reply while the ticket has room");
    }
    let held = r
        .ticket_attachments(erin, org, ticket.id, PageRequest::first(500))
        .await
        .expect("list");
    assert_eq!(held.items.len(), MAX_TICKET_ATTACHMENTS);
    let before = actions(&f.c.msp, org).await.len();
    let comments = r
        .comments(erin, org, ticket.id, PageRequest::first(500))
        .await
        .expect("comments")
        .len();

    // One more file, by the requester or by staff, whichever way it comes.
    let one = staged_files(r, erin, org, 1, 1).await;
    let blob = format!("{:?}", one[0]);
    assert_eq!(
        attachments_refusal(
            r.add_comment_with_attachments(erin, org, ticket.id, "One more", true, one)
                .await
        ),
        format!(
            "this ticket already has {MAX_TICKET_ATTACHMENTS} files; at most {MAX_TICKET_ATTACHMENTS}"
        )
    );
    let theirs = staged_files(r, &f.tech, org, 1, 1).await;
    attachments_refusal(r.attach_files(&f.tech, org, ticket.id, None, theirs).await);
    let note = staged_files(r, &f.tech, org, 1, 1).await;
    attachments_refusal(
        r.add_comment_with_attachments(&f.tech, org, ticket.id, "A note", false, note)
            .await,
    );
    // A reply without files still goes.
    r.add_comment(erin, org, ticket.id, "No more files, promise", true)
        .await
        .expect("a reply without files");
    assert_eq!(
        r.comments(erin, org, ticket.id, PageRequest::first(500))
            .await
            .expect("comments")
            .len(),
        comments + 1,
        "the refused replies were not written"
    );
    assert_eq!(
        actions(&f.c.msp, org).await.len(),
        before + 1,
        "only the reply without files was audited"
    );
    let blob = blob
        .split("blob: BlobId(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("the staged file names its blob");
    assert_eq!(
        r.store().blob_chunk(org, blob, 0).await.expect("read"),
        None,
        "the refused file's bytes are gone"
    );

    // Bytes: a new ticket with ten files at the limit fills it exactly.
    let full = staged_files(r, erin, org, MAX_ATTACHMENTS, 100).await;
    let heavy = r
        .create_ticket_with_attachments(erin, org, new_ticket("Big files", Priority::Low), full)
        .await
        .expect("a ticket with ten files at the limit");
    let byte = staged_files(r, erin, org, 1, 1).await;
    assert_eq!(
        attachments_refusal(
            r.add_comment_with_attachments(erin, org, heavy.id, "One byte more", true, byte)
                .await
        ),
        "this ticket already has 10 files (1000 bytes); at most 1000 bytes of files in all"
    );
    // Another ticket is not affected by either.
    let fresh = r
        .create_ticket(erin, org, new_ticket("Fresh", Priority::Low))
        .await
        .expect("ticket");
    let files = staged_files(r, erin, org, MAX_ATTACHMENTS, 100).await;
    r.add_comment_with_attachments(erin, org, fresh.id, "Files", true, files)
        .await
        .expect("another ticket has its own room");
}

pub async fn a_requester_reopens_their_resolved_ticket_within_the_window(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let [erin, frank] = &f.requesters;
    let ticket = r
        .create_ticket(erin, org, new_ticket("VPN drops", Priority::Medium))
        .await
        .expect("ticket");
    expect_invalid(r.reopen_ticket(erin, org, ticket.id).await, "status");
    f.c.clock.advance(chrono::Duration::hours(2));
    r.set_ticket_status(&f.tech, org, ticket.id, TicketStatus::Resolved)
        .await
        .expect("resolved");
    let resolved = r.ticket(erin, org, ticket.id).await.expect("read");
    assert!(resolved.resolved_at.is_some());
    let used = sla_view(&resolved, r.now())
        .expect("sla")
        .expect("an SLA")
        .resolution
        .consumed_minutes;
    expect_not_found(
        r.reopen_ticket(frank, org, ticket.id).await,
        "another requester",
    );
    // Resolved, the requester reopens before writing again; staff may note.
    expect_invalid(
        r.add_comment(erin, org, ticket.id, "Still broken", true)
            .await,
        "ticket",
    );
    r.add_comment(&f.tech, org, ticket.id, "Closed on the user's word", false)
        .await
        .expect("a staff note");
    f.c.clock.advance(chrono::Duration::days(3));
    let reopened = r
        .reopen_ticket(erin, org, ticket.id)
        .await
        .expect("reopened");
    assert_eq!(reopened.status, TicketStatus::Reopened);
    assert_eq!(reopened.resolved_at, None);
    let view = sla_view(&reopened, r.now()).expect("sla").expect("an SLA");
    assert!(view.resolution.running, "the resolution clock runs again");
    assert_eq!(
        view.resolution.consumed_minutes, used,
        "with the time it had used, nothing for the days it was resolved"
    );
    let chain = store::audit_chain(r.store(), org).await.expect("chain");
    let event = chain.last().expect("an event");
    assert_eq!(event.action, "ticket.reopened");
    assert_eq!(event.actor.user, Some(erin.user));
    r.add_comment(erin, org, ticket.id, "Still broken", true)
        .await
        .expect("a reply once reopened");
    // Past the window, or closed: a new ticket instead.
    r.set_ticket_status(&f.tech, org, ticket.id, TicketStatus::Resolved)
        .await
        .expect("resolved again");
    f.c.clock
        .advance(REOPEN_WINDOW + chrono::Duration::minutes(1));
    expect_invalid(r.reopen_ticket(erin, org, ticket.id).await, "status");
    r.set_ticket_status(&f.tech, org, ticket.id, TicketStatus::Closed)
        .await
        .expect("closed");
    expect_invalid(r.reopen_ticket(erin, org, ticket.id).await, "status");
    // Staff reopen whatever the window says.
    let by_staff = r
        .reopen_ticket(&f.tech, org, ticket.id)
        .await
        .expect("staff reopen a closed ticket");
    assert_eq!(by_staff.status, TicketStatus::Reopened);
}
