//! Typed identifiers: uuid v7 newtypes, all made by [`id_type!`], so an
//! `OrgId` can never be passed where a `UserId` is expected.

/// Declares a uuid newtype with the conversions every id needs.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// The underlying uuid.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// An organization: an MSP, one of its clients, or a standalone company.
    OrgId
);
id_type!(
    /// A person on the platform (one account, whatever number of orgs).
    UserId
);
id_type!(
    /// A user's role in one organization.
    MembershipId
);
id_type!(
    /// One event of an organization's audit chain.
    AuditEventId
);
id_type!(
    /// An organization's own framework.
    CustomFrameworkId
);
id_type!(
    /// An organization's adoption of one framework.
    AdoptionId
);
id_type!(
    /// An organization's implementation of one common control.
    ControlImplId
);
id_type!(
    /// A piece of evidence.
    EvidenceId
);
id_type!(
    /// The stored bytes of an evidence file.
    BlobId
);
id_type!(
    /// A recorded assessment (a dated gap-analysis result).
    AssessmentId
);
id_type!(
    /// A HIPAA business associate agreement.
    AgreementId
);
id_type!(
    /// An entry of the notification outbox.
    NotificationId
);
id_type!(
    /// A policy document.
    PolicyId
);
id_type!(
    /// One version of a policy's text.
    PolicyVersionId
);
id_type!(
    /// An acknowledgment campaign.
    CampaignId
);
id_type!(
    /// One person's acknowledgment in a campaign.
    AcknowledgmentId
);
id_type!(
    /// An SLA policy.
    SlaPolicyId
);
id_type!(
    /// A helpdesk ticket.
    TicketId
);
id_type!(
    /// A comment on a ticket.
    CommentId
);
id_type!(
    /// A file attached to a ticket (with a comment, or with the ticket itself).
    AttachmentId
);
id_type!(
    /// Time logged against work.
    TimeEntryId
);
id_type!(
    /// A managed device or license.
    AssetId
);
id_type!(
    /// A knowledge-base article.
    ArticleId
);
id_type!(
    /// A live chat session.
    ChatId
);
id_type!(
    /// A message in a chat.
    ChatMessageId
);
id_type!(
    /// An API token.
    TokenId
);

id_type!(
    /// An email waiting for (or past) delivery.
    EmailId
);
id_type!(
    /// An invitation to join an organization.
    InvitationId
);
id_type!(
    /// A request to reset a password by email.
    PasswordResetId
);
