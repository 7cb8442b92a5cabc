//! Job status on core NATS: `stagecast.egress.v1.job.{job_id}` carries the job (`egress.v1.Job`
//! in the standard envelope) on every change and every 5 s while it lives. The recording
//! service follows it; a job whose messages stop is presumed lost.
use async_nats::HeaderMap;
use stagecast_bus::envelope::{Envelope, HEADER_MSG_ID, HEADER_TYPE};

use crate::job::JobView;

pub fn subject(job_id: &str) -> String {
    format!("stagecast.egress.v1.job.{job_id}")
}

pub async fn publish_job(nats: async_nats::Client, view: JobView) {
    let msg = crate::grpc::to_proto(&view);
    let env = Envelope::wrap(&msg);
    let mut headers = HeaderMap::new();
    headers.insert(HEADER_MSG_ID, env.id.to_string().as_str());
    headers.insert(HEADER_TYPE, env.type_name.as_str());
    if let Err(e) = nats.publish_with_headers(subject(&view.spec.job_id), headers, env.encode().into()).await {
        tracing::warn!(error = %e, "cannot publish a job status");
    }
}
