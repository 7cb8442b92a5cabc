//! Avatar images in S3: which images we take, how they are named, and the bucket they live in.
//!
//! Invariant: only keys of the form `avatars/{user uuid}/{uuid}.{png|jpg|webp}` are ever read or
//! written through here; [`AvatarFile::parse`] and [`user_id`] accept nothing else, so a request
//! path cannot name any other object in the bucket (`..`, `%2F`, other prefixes).
use stagecast_storage::Bucket;
use tokio::sync::OnceCell;
use uuid::Uuid;

/// Largest avatar accepted, in bytes.
pub const MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

/// Where the API serves avatars, under `/api/v1`.
pub const ROUTE_PREFIX: &str = "/api/v1/avatars/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
}

impl ImageKind {
    /// From a `Content-Type` header value (parameters ignored).
    pub fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/png" => Some(Self::Png),
            "image/jpeg" => Some(Self::Jpeg),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "png" => Some(Self::Png),
            "jpg" => Some(Self::Jpeg),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
        }
    }

    /// Whether `bytes` start like an image of this kind (its file signature).
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            Self::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            Self::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            Self::Webp => bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
        }
    }
}

/// The file name of a stored avatar: `{uuid}.{ext}`, the uuid in its lower-case hyphenated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvatarFile {
    pub id: Uuid,
    pub kind: ImageKind,
}

impl AvatarFile {
    pub fn new(kind: ImageKind) -> Self {
        Self { id: Uuid::new_v4(), kind }
    }

    pub fn parse(name: &str) -> Option<Self> {
        let (stem, ext) = name.split_once('.')?;
        let kind = ImageKind::from_extension(ext)?;
        Some(Self { id: canonical_uuid(stem)?, kind })
    }

    pub fn name(&self) -> String {
        format!("{}.{}", self.id.hyphenated(), self.kind.extension())
    }
}

/// A user id from a path: a uuid in its canonical form, nothing else.
pub fn user_id(raw: &str) -> Option<Uuid> {
    canonical_uuid(raw)
}

/// `Uuid::parse_str` also takes braces, `urn:uuid:` and the simple form; one spelling per object
/// keeps one URL per avatar.
fn canonical_uuid(raw: &str) -> Option<Uuid> {
    let id = Uuid::parse_str(raw).ok()?;
    (id.hyphenated().to_string() == raw).then_some(id)
}

pub fn object_key(user: Uuid, file: &AvatarFile) -> String {
    format!("avatars/{}/{}", user.hyphenated(), file.name())
}

/// The avatar an `avatar_url` points at, if it is one of ours (whatever base URL it was served
/// under) and belongs to `owner`.
pub fn owned_avatar(avatar_url: &str, owner: Uuid) -> Option<AvatarFile> {
    let (_, rest) = avatar_url.split_once(ROUTE_PREFIX)?;
    let (user, file) = rest.split_once('/')?;
    (user_id(user)? == owner).then_some(())?;
    AvatarFile::parse(file)
}

/// The avatar bucket, created the first time it is needed.
pub struct AvatarStore {
    pub bucket: Bucket,
    created: OnceCell<()>,
}

impl AvatarStore {
    pub fn new(bucket: Bucket) -> Self {
        Self { bucket, created: OnceCell::new() }
    }

    /// Makes sure the bucket exists (once per process; a failure is retried by the next call).
    pub async fn ready(&self) -> Result<&Bucket, stagecast_storage::Error> {
        self.created.get_or_try_init(|| self.bucket.ensure_exists()).await?;
        Ok(&self.bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_recognises_its_own_signature_only() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        assert!(ImageKind::Png.matches(png) && !ImageKind::Png.matches(&jpeg) && !ImageKind::Png.matches(webp));
        assert!(ImageKind::Jpeg.matches(&jpeg) && !ImageKind::Jpeg.matches(png));
        assert!(ImageKind::Webp.matches(webp) && !ImageKind::Webp.matches(b"RIFF\x24\0\0\0WAVEfmt "));
        assert!(!ImageKind::Png.matches(b""));
    }

    #[test]
    fn content_type_ignores_case_and_parameters_and_refuses_others() {
        assert_eq!(ImageKind::from_content_type("Image/PNG; charset=binary"), Some(ImageKind::Png));
        assert_eq!(ImageKind::from_content_type("image/jpeg"), Some(ImageKind::Jpeg));
        for other in ["image/gif", "image/svg+xml", "application/octet-stream", ""] {
            assert_eq!(ImageKind::from_content_type(other), None, "{other}");
        }
    }

    #[test]
    fn only_canonical_uuid_names_with_known_extensions_parse() {
        let f = AvatarFile::new(ImageKind::Webp);
        assert_eq!(AvatarFile::parse(&f.name()), Some(f));
        let id = f.id.hyphenated().to_string();
        for bad in [
            format!("{id}.gif"),
            format!("{id}.png.png"),
            id.clone(),
            format!("{}.png", f.id.simple()),
            format!("{{{id}}}.png"),
            format!("{}.png", id.to_uppercase()),
            "../secret.png".to_owned(),
            "..".to_owned(),
        ] {
            assert_eq!(AvatarFile::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn owned_avatar_recognises_our_urls_for_their_owner_only() {
        let owner = Uuid::new_v4();
        let f = AvatarFile::new(ImageKind::Png);
        let url = format!("https://live.example.com/api/v1/avatars/{}/{}", owner.hyphenated(), f.name());
        assert_eq!(owned_avatar(&url, owner), Some(f));
        assert_eq!(owned_avatar(&url, Uuid::new_v4()), None);
        assert_eq!(owned_avatar("https://cdn.example.com/a.png", owner), None);
    }
}
