//! The embedded store's objects, served by `s3s-fs` except for one thing: a whole object is read
//! from its file at once. `s3s-fs` streams a file in 4 KiB reads, each a round trip to tokio's
//! blocking pool, ~100–160 MB/s over loopback: most of a Python or JavaScript task's cold start
//! from a store artifact of tens of MB (docs/measurements.md, "Tasks in Python and JavaScript").

use std::path::{Component, Path, PathBuf};

use s3s::dto::*;
use s3s::{Body, S3, S3Request, S3Response, S3Result};
use s3s_fs::FileSystem;

/// `s3s-fs` with whole-object reads; only the operations Fusion's store uses are served.
pub struct WholeReads {
    fs: FileSystem,
    /// The directory `fs` serves, as it resolved it.
    root: PathBuf,
}

impl WholeReads {
    /// Serves the buckets under `root`, which must exist.
    pub fn new(root: &Path) -> std::io::Result<WholeReads> {
        let fs = FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(WholeReads { fs, root: std::env::current_dir()?.join(root).canonicalize()? })
    }

    /// The file of `bucket`/`key`, when every part of both is a plain name: anything else (`..`,
    /// an absolute path) is left to `s3s-fs`, which keeps it inside the root.
    fn file(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let relative = Path::new(bucket).join(key);
        relative.components().all(|part| matches!(part, Component::Normal(_))).then(|| self.root.join(relative))
    }
}

#[async_trait::async_trait]
impl S3 for WholeReads {
    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let whole = req.input.range.is_none() && req.input.part_number.is_none();
        let file = self.file(&req.input.bucket, &req.input.key).filter(|_| whole);
        let mut response = self.fs.get_object(req).await?;
        if let Some(file) = file
            && let Ok(bytes) = tokio::fs::read(&file).await
            // Rewritten since `s3s-fs` looked: keep its answer, which matches its headers.
            && response.output.content_length == i64::try_from(bytes.len()).ok()
        {
            response.output.body = Some(StreamingBlob::from(Body::from(bytes)));
        }
        Ok(response)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_read_directly_so_no_key_reaches_outside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let objects = WholeReads::new(dir.path()).unwrap();
        assert_eq!(objects.file("fusion", "artifacts/a.cwasm"), Some(objects.root.join("fusion/artifacts/a.cwasm")));
        for (bucket, key) in [("fusion", "../../etc/passwd"), ("fusion", "/etc/passwd"), ("..", "x")] {
            assert_eq!(objects.file(bucket, key), None, "{bucket}/{key}");
        }
    }
}
