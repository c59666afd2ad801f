//! The success bodies `{"data": ..., "meta": {...}}`: one named type per response, the same type
//! served by the handler and documented in the OpenAPI document.

use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    asset_body::AssetBody,
    assets::AssetDeleted,
    project_assets::{Binding, BindingDeleted},
    projects::{ProjectDeleted, ProjectDetail, ProjectMetadata, ProjectSummary},
    webhooks::{Webhook, WebhookDeleted, WebhookDelivery, WebhookReplay},
};

/// An empty `meta`.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct EmptyMeta {}

/// A list's `meta`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    /// Pass as `pageCursor` for the next page; `null` on the last page.
    #[schema(required)]
    pub next_page_cursor: Option<String>,
}

macro_rules! envelopes {
    (single { $($name:ident: $data:ty;)* } pages { $($list:ident: $item:ty;)* }) => {
        $(
            /// The success envelope.
            #[derive(Debug, Serialize, ToSchema)]
            pub struct $name {
                data: $data,
                meta: EmptyMeta,
            }

            impl From<$data> for $name {
                fn from(data: $data) -> Self {
                    Self { data, meta: EmptyMeta {} }
                }
            }
        )*
        $(
            /// The success envelope.
            #[derive(Debug, Serialize, ToSchema)]
            pub struct $list {
                data: Vec<$item>,
                meta: PageMeta,
            }

            impl $list {
                /// One page, and the cursor of the next (`None` on the last page).
                pub fn page(data: Vec<$item>, next_page_cursor: Option<String>) -> Self {
                    Self { data, meta: PageMeta { next_page_cursor } }
                }
            }
        )*
    };
}

envelopes! {
    single {
        AssetEnvelope: AssetBody;
        AssetDeletedEnvelope: AssetDeleted;
        ProjectSummaryEnvelope: ProjectSummary;
        ProjectDetailEnvelope: ProjectDetail;
        ProjectMetadataEnvelope: ProjectMetadata;
        ProjectDeletedEnvelope: ProjectDeleted;
        BindingEnvelope: Binding;
        BindingDeletedEnvelope: BindingDeleted;
        WebhookEnvelope: Webhook;
        WebhookDeletedEnvelope: WebhookDeleted;
        WebhookReplayEnvelope: WebhookReplay;
    }
    pages {
        AssetListEnvelope: AssetBody;
        ProjectListEnvelope: ProjectSummary;
        WebhookListEnvelope: Webhook;
        WebhookDeliveryListEnvelope: WebhookDelivery;
    }
}
