//! Domain types that parse: holding one means the value is valid.
mod api_key;
mod email;
mod password;
mod profile;
mod refresh_token;

pub use api_key::{ApiKeyName, ApiKeySecret, SECRET_PREFIX, parse_scopes};
pub use email::Email;
pub use password::{Password, PasswordHash};
pub use profile::{AvatarUrl, DisplayName};
pub use refresh_token::RefreshToken;
