//! The jobs of this worker, admitted by their CPU cost.
use std::{collections::HashMap, sync::Mutex};

use stagecast_kit::error::{ApiError, ErrorKind};

use crate::{
    composite::Participant,
    job::{self, Command, JobContext, JobHandle, JobSpec, JobState, JobView},
    layout::{LayoutKind, Quality},
    rtmp::RtmpUrl,
};

/// What a job costs, in cores: measured two 360p inputs → 720p30 + HLS at ~0.3 of a core here
/// (shared/design/media-notes.md), with room for more people and a screen.
pub fn cost(quality: Quality) -> f64 {
    match quality {
        Quality::P720 => 0.5,
        Quality::P1080 => 1.0,
    }
}

pub struct Worker {
    ctx: JobContext,
    budget: f64,
    // A std Mutex: nothing awaits while it is held.
    jobs: Mutex<HashMap<String, JobHandle>>,
}

impl Worker {
    pub fn new(ctx: JobContext, budget: f64) -> Self {
        let jobs = job::resume_all(&ctx).into_iter().collect();
        let w = Self { ctx, budget, jobs: Mutex::new(jobs) };
        w.account();
        w
    }

    fn committed(jobs: &HashMap<String, JobHandle>) -> f64 {
        jobs.values()
            .map(|h| h.view.borrow().clone())
            .filter(|v| matches!(v.state, JobState::Running | JobState::Stopping))
            .map(|v| cost(Quality::parse(&v.spec.quality).unwrap_or_default()))
            .sum()
    }

    fn account(&self) {
        if let Ok(jobs) = self.jobs.lock() {
            self.ctx.metrics.cpu_committed_millis.set((Self::committed(&jobs) * 1000.0) as i64);
        }
    }

    pub fn start(&self, spec: JobSpec) -> Result<JobView, ApiError> {
        if spec.job_id.is_empty() || spec.job_id.len() > 64 || !spec.job_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ApiError::invalid("invalid_job_id", "job ids are 1–64 letters, digits and dashes"));
        }
        let layout = LayoutKind::parse(&spec.layout).ok_or_else(|| {
            ApiError::invalid("unknown_layout", format!("no layout {:?}: use speaker, grid or screen", spec.layout))
        })?;
        let quality = Quality::parse(&spec.quality)
            .ok_or_else(|| ApiError::invalid("unknown_quality", format!("no quality {:?}: use 720p or 1080p", spec.quality)))?;
        if spec.room.is_empty() {
            return Err(ApiError::invalid("invalid_room", "a job needs the SFU room"));
        }
        let mut jobs = self.jobs.lock().map_err(|_| ApiError::internal("jobs lock poisoned"))?;
        if let Some(h) = jobs.get(&spec.job_id) {
            let view = h.view.borrow().clone();
            if view.state != JobState::Finished && view.state != JobState::Failed {
                return Ok(view);
            }
        }
        let committed = Self::committed(&jobs);
        if committed + cost(quality) > self.budget + 1e-9 {
            self.ctx.metrics.refused_busy.inc();
            return Err(ApiError::new(
                ErrorKind::RateLimited,
                "egress_busy",
                format!("this egress worker is full ({committed:.1} of {:.1} cores committed); try another worker", self.budget),
            ));
        }
        let spec = JobSpec { layout: layout.as_str().into(), quality: quality.as_str().into(), ..spec };
        let handle = job::start(self.ctx.clone(), spec).map_err(ApiError::internal)?;
        let view = handle.view.borrow().clone();
        jobs.insert(view.spec.job_id.clone(), handle);
        drop(jobs);
        self.account();
        Ok(view)
    }

    fn handle(&self, job_id: &str) -> Result<JobHandle, ApiError> {
        self.jobs
            .lock()
            .map_err(|_| ApiError::internal("jobs lock poisoned"))?
            .get(job_id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job {job_id} on this worker")))
    }

    pub fn get(&self, job_id: &str) -> Result<JobView, ApiError> {
        Ok(self.handle(job_id)?.view.borrow().clone())
    }

    pub async fn update(
        &self,
        job_id: &str,
        layout: Option<&str>,
        on_air: Option<Vec<Participant>>,
    ) -> Result<JobView, ApiError> {
        let layout = layout
            .map(|l| {
                LayoutKind::parse(l)
                    .ok_or_else(|| ApiError::invalid("unknown_layout", format!("no layout {l:?}: use speaker, grid or screen")))
            })
            .transpose()?;
        let h = self.handle(job_id)?;
        if h.view.borrow().state != JobState::Running {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "job_not_running", "the job is not running"));
        }
        ask(&h, |reply| Command::Update { layout, on_air, reply }).await?;
        Ok(h.view.borrow().clone())
    }

    pub async fn stop(&self, job_id: &str) -> Result<JobView, ApiError> {
        let h = self.handle(job_id)?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        if h.view.borrow().state != JobState::Running || h.commands.send(Command::Stop { reply }).await.is_err() {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "job_not_running", "the job is not running"));
        }
        // The reply comes when the job is finished; the caller needs only to know it is stopping.
        drop(rx);
        let mut view = h.view.clone();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), view.wait_for(|v| v.state != JobState::Running)).await;
        let v = view.borrow().clone();
        self.account();
        Ok(v)
    }

    /// The room's job that is still running or stopping (the newest, should there be two).
    pub fn find(&self, room: &str) -> Result<JobView, ApiError> {
        let jobs = self.jobs.lock().map_err(|_| ApiError::internal("jobs lock poisoned"))?;
        jobs.values()
            .map(|h| h.view.borrow().clone())
            .filter(|v| v.spec.room == room && matches!(v.state, JobState::Running | JobState::Stopping))
            // Running before stopping, and a recording before a restream-only job: destinations
            // move onto the recording's encode.
            .max_by_key(|v| (v.state == JobState::Running, v.spec.record))
            .ok_or_else(|| ApiError::not_found("job_not_found", format!("no running job for room {room} on this worker")))
    }

    pub async fn add_output(&self, job_id: &str, output_id: &str, url: &str) -> Result<JobView, ApiError> {
        if output_id.is_empty() || output_id.len() > 64 || !output_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ApiError::invalid("invalid_output_id", "output ids are 1–64 letters, digits and dashes"));
        }
        let url = RtmpUrl::parse(url).map_err(|reason| ApiError::invalid("invalid_output_url", reason))?;
        let h = self.handle(job_id)?;
        if h.view.borrow().state != JobState::Running {
            return Err(ApiError::new(ErrorKind::FailedPrecondition, "job_not_running", "the job is not running"));
        }
        ask(&h, |reply| Command::AddOutput { id: output_id.to_owned(), url, reply }).await?;
        Ok(h.view.borrow().clone())
    }

    pub async fn remove_output(&self, job_id: &str, output_id: &str) -> Result<JobView, ApiError> {
        let h = self.handle(job_id)?;
        if !ask(&h, |reply| Command::RemoveOutput { id: output_id.to_owned(), reply }).await? {
            return Err(ApiError::not_found("output_not_found", format!("the job pushes to no destination {output_id}")));
        }
        // Answer once its connection is closed: a caller moving the destination to another job
        // must not meet its own old publisher at the platform (a second publisher of a key is
        // refused).
        let mut view = h.view.clone();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            view.wait_for(|v| v.outputs.iter().all(|o| o.id != output_id || o.state == crate::rtmp::OutputState::Stopped)),
        )
        .await;
        let v = view.borrow().clone();
        Ok(v)
    }
}

/// How long a call waits for its job to take a command and answer. A job answers within
/// milliseconds unless it is stuck (a pipeline that will not change state): the caller then gets
/// `job_busy` to retry or report, instead of a call that never returns.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends a command to a job and waits, at most [`ANSWER_WITHIN`], for its answer.
async fn ask<T>(h: &JobHandle, command: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> Command) -> Result<T, ApiError> {
    ask_within(&h.commands, ANSWER_WITHIN, command).await
}

async fn ask_within<T>(
    commands: &tokio::sync::mpsc::Sender<Command>,
    within: std::time::Duration,
    command: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> Command,
) -> Result<T, ApiError> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    let asked = async {
        commands.send(command(reply)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    };
    tokio::time::timeout(within, asked).await.unwrap_or_else(|_| {
        Err(ApiError::new(
            ErrorKind::Unavailable,
            "job_busy",
            format!("the job did not answer within {} s; try again", within.as_secs_f32()),
        ))
    })
}

fn gone() -> ApiError {
    ApiError::new(ErrorKind::FailedPrecondition, "job_not_running", "the job has ended")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_that_does_not_answer_gives_job_busy_and_one_that_ended_gives_job_not_running() {
        let wait = std::time::Duration::from_millis(50);
        // A job whose loop is stuck: its queue takes the command, nobody answers.
        let (commands, stuck) = tokio::sync::mpsc::channel(1);
        let e = ask_within(&commands, wait, |reply| Command::Stop { reply }).await.unwrap_err();
        assert_eq!((e.kind, e.code.as_ref()), (ErrorKind::Unavailable, "job_busy"));
        assert!(e.message.contains("try again"), "{}", e.message);
        // Its queue full as well: still an answer, not a hang.
        let e = ask_within(&commands, wait, |reply| Command::Stop { reply }).await.unwrap_err();
        assert_eq!(e.code, "job_busy");
        drop(stuck);
        let e = ask_within(&commands, wait, |reply| Command::Stop { reply }).await.unwrap_err();
        assert_eq!(e.code, "job_not_running");
    }
}
