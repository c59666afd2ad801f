//! The project routes: `POST|GET /v1/projects`, `GET|PATCH|DELETE /v1/projects/{projectId}`.

use assetd_proto::{catalog::v1 as pb, ids::ProjectId};
use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{
    app::AppState,
    auth::Account,
    catalog_client,
    envelope::{
        ProjectDeletedEnvelope, ProjectDetailEnvelope, ProjectListEnvelope,
        ProjectMetadataEnvelope, ProjectSummaryEnvelope,
    },
    json_body::JsonBody,
    paging::{self, ListQuery, PageRule},
    path_id::path_id,
    problem::ApiError,
    rfc3339,
};

/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 120;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 500;
/// The only editor state schema version.
pub const STATE_SCHEMA_VERSION: &str = "v1";
/// Longest `Idempotency-Key`, in characters.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;

const PROJECTS_PAGE: PageRule = PageRule {
    default: 20,
    max: 50,
    unprocessable: false,
};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSummary {
    pub project_id: String,
    pub title: String,
    #[schema(required)]
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&pb::Project> for ProjectSummary {
    fn from(project: &pb::Project) -> Self {
        Self {
            project_id: project.project_id.clone(),
            title: project.title.clone(),
            description: project.description.clone(),
            created_at: rfc3339::from_unix_micros(project.created_at_unix_micros),
            updated_at: rfc3339::from_unix_micros(project.updated_at_unix_micros),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub summary: ProjectSummary,
    #[schema(value_type = Object)]
    pub editor_state: Value,
    pub state_schema_version: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectMetadata {
    pub project_id: String,
    pub title: String,
    #[schema(required)]
    pub description: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDeleted {
    pub project_id: String,
    pub deleted: bool,
}

/// The editor state's schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
pub enum StateSchemaVersion {
    #[schema(rename = "v1")]
    V1,
}

impl StateSchemaVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => STATE_SCHEMA_VERSION,
        }
    }
}

// Read field by field (`from_body`, not serde) so that each bad field answers its own errorCode.
/// `POST /v1/projects`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateProject {
    /// The editor's state, stored as sent (not checked against the editor's schema).
    #[schema(value_type = Object)]
    pub editor_state: Map<String, Value>,
    /// Required unless a 1.0 client sends `stateVersion`; each sent must be `"v1"`.
    #[schema(nullable = false)]
    pub state_schema_version: Option<StateSchemaVersion>,
    /// The 1.0 name of `stateSchemaVersion`.
    #[schema(nullable = false)]
    pub state_version: Option<StateSchemaVersion>,
    /// At most 120 characters; `""` when absent.
    #[schema(max_length = 120, nullable = false)]
    pub title: Option<String>,
    /// At most 500 characters, or null.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl CreateProject {
    /// The version sent under either name (both, when sent, are the same: there is one).
    pub fn schema_version(&self) -> StateSchemaVersion {
        self.state_schema_version
            .or(self.state_version)
            .unwrap_or(StateSchemaVersion::V1)
    }

    /// Checks `editorState` (400 `EDITOR_STATE_INVALID`), the schema version (422
    /// `STATE_SCHEMA_VERSION_UNSUPPORTED`), `title` and `description`, in that order.
    pub fn from_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let Some(Value::Object(editor_state)) = body.get("editorState") else {
            return Err(ApiError::EditorStateInvalid);
        };
        let state_schema_version = schema_version_field(body, "stateSchemaVersion")?;
        let state_version = schema_version_field(body, "stateVersion")?;
        if state_schema_version.is_none() && state_version.is_none() {
            return Err(ApiError::StateSchemaVersionUnsupported);
        }
        Ok(Self {
            editor_state: editor_state.clone(),
            state_schema_version,
            state_version,
            title: title(body)?,
            description: description(body)?.flatten(),
        })
    }
}

/// `PATCH /v1/projects/{projectId}`: only the fields sent change.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UpdateProject {
    /// At most 120 characters.
    #[schema(max_length = 120, nullable = false)]
    pub title: Option<String>,
    /// At most 500 characters; null clears it.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
}

impl UpdateProject {
    pub fn from_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        Ok(Self {
            title: title(body)?,
            description: description(body)?,
        })
    }
}

/// `title`: absent is `""`; else a string of at most 120 characters.
fn title(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("title") {
        None => Ok(None),
        Some(Value::String(text)) if text.chars().count() <= TITLE_MAX_CHARS => {
            Ok(Some(text.clone()))
        }
        Some(Value::String(_)) => Err(ApiError::ProjectTitleInvalid(
            "must be at most 120 characters",
        )),
        Some(_) => Err(ApiError::ProjectTitleInvalid("must be a string")),
    }
}

/// `description`: absent (`None`), null (`Some(None)`) or a string of at most 500 characters.
fn description(body: &Map<String, Value>) -> Result<Option<Option<String>>, ApiError> {
    match body.get("description") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) if text.chars().count() <= DESCRIPTION_MAX_CHARS => {
            Ok(Some(Some(text.clone())))
        }
        Some(Value::String(_)) => Err(ApiError::ProjectDescriptionInvalid(
            "must be at most 500 characters",
        )),
        Some(_) => Err(ApiError::ProjectDescriptionInvalid(
            "must be a string or null",
        )),
    }
}

/// `field` absent, or `"v1"` (anything else is 422 `STATE_SCHEMA_VERSION_UNSUPPORTED`).
fn schema_version_field(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<StateSchemaVersion>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(value) if value.as_str() == Some(STATE_SCHEMA_VERSION) => {
            Ok(Some(StateSchemaVersion::V1))
        }
        Some(_) => Err(ApiError::StateSchemaVersionUnsupported),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::IdempotencyKeyInvalid)?
        .trim();
    let printable = key.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if key.is_empty() || key.chars().count() > IDEMPOTENCY_KEY_MAX_CHARS || !printable {
        return Err(ApiError::IdempotencyKeyInvalid);
    }
    Ok(Some(key.to_owned()))
}

#[utoipa::path(
    post,
    path = "/v1/projects",
    operation_id = "createProject",
    tag = "projects",
    description = crate::openapi::PROJECT_CREATE_DESCRIPTION,
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[ -~]*[!-~][ -~]*$", description = "1 to 255 printable ASCII characters: replays the first completed response for the same body."),
    ),
    request_body(content = CreateProject, content_type = "application/json"),
    responses(
        (status = 201, description = "The project's summary.", body = ProjectSummaryEnvelope, links(
            ("getProject" = (operation_id = "getProject", parameters(("projectId" = "$response.body#/data/projectId")))),
            ("updateProject" = (operation_id = "updateProject", parameters(("projectId" = "$response.body#/data/projectId")))),
            ("deleteProject" = (operation_id = "deleteProject", parameters(("projectId" = "$response.body#/data/projectId")))),
            ("listProjectAssets" = (operation_id = "listProjectAssets", parameters(("projectId" = "$response.body#/data/projectId")))),
            ("bindProjectAsset" = (operation_id = "bindProjectAsset", parameters(("projectId" = "$response.body#/data/projectId")))),
            ("createUpload" = (operation_id = "createUpload", parameters(("header.x-project-id" = "$response.body#/data/projectId")), description = "Upload a file into the project.")),
        )),
        crate::openapi::CreateProjectErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    account: Account,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ProjectSummaryEnvelope>), ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let body = CreateProject::from_body(&body)?;
    let state_schema_version = body.schema_version().as_str().to_owned();
    let project = state
        .catalog
        .clone()
        .create_project(pb::CreateProjectRequest {
            account_id: account.account_id.to_string(),
            title: body.title.unwrap_or_default(),
            description: body.description,
            editor_state_json: Value::Object(body.editor_state).to_string(),
            state_schema_version,
            idempotency_key,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(ProjectSummaryEnvelope::from(ProjectSummary::from(&project))),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/projects",
    operation_id = "listProjects",
    tag = "projects",
    description = crate::openapi::PROJECT_LIST_DESCRIPTION,
    params(
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 50, description = "Page size, 1 to 50; default 20."),
        ("pageCursor" = Option<String>, Query, nullable = false, pattern = "^([0-7][0-9a-f]{47})?$", description = "The previous page's `meta.nextPageCursor`; omit for the first page."),
    ),
    responses(
        (status = 200, description = "A page of project summaries.", body = ProjectListEnvelope),
        crate::openapi::ListProjectsErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    account: Account,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ProjectListEnvelope>, ApiError> {
    let (page_size, page_cursor) = paging::page(query, PROJECTS_PAGE)?;
    let page = state
        .catalog
        .clone()
        .list_projects(pb::ListProjectsRequest {
            account_id: account.account_id.to_string(),
            page_size,
            page_cursor,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(ProjectListEnvelope::page(
        page.projects.iter().map(ProjectSummary::from).collect(),
        page.next_page_cursor,
    )))
}

#[utoipa::path(
    get,
    path = "/v1/projects/{projectId}",
    operation_id = "getProject",
    tag = "projects",
    description = "The project with its editor state.",
    params(("projectId" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The project's detail.", body = ProjectDetailEnvelope),
        crate::openapi::ProjectErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    account: Account,
    Path(project_id): Path<String>,
) -> Result<Json<ProjectDetailEnvelope>, ApiError> {
    let project_id = path_id::<ProjectId>(&project_id, "projectId")?.to_string();
    let project = state
        .catalog
        .clone()
        .get_project(pb::GetProjectRequest {
            account_id: account.account_id.to_string(),
            project_id,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    let editor_state = serde_json::from_str(&project.editor_state_json).map_err(|err| {
        tracing::error!(error = %err, project_id = project.project_id, "stored editor state is not JSON");
        ApiError::Internal
    })?;
    Ok(Json(ProjectDetailEnvelope::from(ProjectDetail {
        summary: ProjectSummary::from(&project),
        editor_state,
        state_schema_version: project.state_schema_version,
    })))
}

#[utoipa::path(
    patch,
    path = "/v1/projects/{projectId}",
    operation_id = "updateProject",
    tag = "projects",
    description = crate::openapi::PROJECT_UPDATE_DESCRIPTION,
    params(("projectId" = uuid::Uuid, Path, description = "The project's id.")),
    request_body(content = UpdateProject, content_type = "application/json"),
    responses(
        (status = 200, description = "The project's metadata after the change.", body = ProjectMetadataEnvelope),
        crate::openapi::UpdateProjectErrors,
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    account: Account,
    Path(project_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ProjectMetadataEnvelope>, ApiError> {
    let project_id = path_id::<ProjectId>(&project_id, "projectId")?.to_string();
    let UpdateProject { title, description } = UpdateProject::from_body(&body)?;
    let project = state
        .catalog
        .clone()
        .update_project(pb::UpdateProjectRequest {
            account_id: account.account_id.to_string(),
            project_id,
            title,
            clear_description: matches!(description, Some(None)),
            description: description.flatten(),
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(ProjectMetadataEnvelope::from(ProjectMetadata {
        updated_at: rfc3339::from_unix_micros(project.updated_at_unix_micros),
        project_id: project.project_id,
        title: project.title,
        description: project.description,
    })))
}

#[utoipa::path(
    delete,
    path = "/v1/projects/{projectId}",
    operation_id = "deleteProject",
    tag = "projects",
    description = "Deletes the project; its assets are unbound and kept.",
    params(("projectId" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "Deleted.", body = ProjectDeletedEnvelope),
        crate::openapi::ProjectErrors,
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    account: Account,
    Path(project_id): Path<String>,
) -> Result<Json<ProjectDeletedEnvelope>, ApiError> {
    let project_id = path_id::<ProjectId>(&project_id, "projectId")?.to_string();
    state
        .catalog
        .clone()
        .delete_project(pb::DeleteProjectRequest {
            account_id: account.account_id.to_string(),
            project_id: project_id.clone(),
        })
        .await
        .map_err(catalog_client::api_error)?;
    Ok(Json(ProjectDeletedEnvelope::from(ProjectDeleted {
        project_id,
        deleted: true,
    })))
}
