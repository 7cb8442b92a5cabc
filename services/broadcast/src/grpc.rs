//! `stagecast.broadcast.v1.BroadcastService`; proto types stop here.
use stagecast_proto::broadcast::v1::{self as pb, broadcast_service_server::BroadcastService};
use tonic::{Request, Response, Status};

use crate::service::Broadcasts;

pub struct BroadcastApi {
    broadcasts: Broadcasts,
}

impl BroadcastApi {
    pub fn new(broadcasts: Broadcasts) -> Self {
        Self { broadcasts }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl BroadcastService for BroadcastApi {
    async fn create_destination(&self, req: Request<pb::CreateDestinationRequest>) -> Reply<pb::Destination> {
        let r = req.into_inner();
        let d = self.broadcasts.create(&r.actor_id, &r.platform, &r.name, &r.server_url, &r.stream_key).await?;
        Ok(Response::new(d.to_proto()))
    }

    async fn list_destinations(&self, req: Request<pb::ListDestinationsRequest>) -> Reply<pb::ListDestinationsResponse> {
        let destinations = self.broadcasts.list(&req.into_inner().actor_id).await?.iter().map(|d| d.to_proto()).collect();
        Ok(Response::new(pb::ListDestinationsResponse { destinations }))
    }

    async fn delete_destination(&self, req: Request<pb::DestinationRef>) -> Reply<pb::DeleteDestinationResponse> {
        let r = req.into_inner();
        self.broadcasts.delete(&r.actor_id, &r.destination_id).await?;
        Ok(Response::new(pb::DeleteDestinationResponse {}))
    }

    async fn list_event_destinations(&self, req: Request<pb::EventRef>) -> Reply<pb::ListEventDestinationsResponse> {
        let r = req.into_inner();
        let destinations = self.broadcasts.list_event(&r.actor_id, &r.event_id).await?.iter().map(|d| d.to_proto()).collect();
        Ok(Response::new(pb::ListEventDestinationsResponse { destinations }))
    }

    async fn attach_destination(&self, req: Request<pb::AttachRequest>) -> Reply<pb::EventDestination> {
        let r = req.into_inner();
        Ok(Response::new(self.broadcasts.attach(&r.actor_id, &r.event_id, &r.destination_id, r.auto_start).await?.to_proto()))
    }

    async fn set_auto_start(&self, req: Request<pb::SetAutoStartRequest>) -> Reply<pb::EventDestination> {
        let r = req.into_inner();
        Ok(Response::new(
            self.broadcasts.set_auto_start(&r.actor_id, &r.event_id, &r.destination_id, r.auto_start).await?.to_proto(),
        ))
    }

    async fn detach_destination(&self, req: Request<pb::EventDestinationRef>) -> Reply<pb::DetachResponse> {
        let r = req.into_inner();
        self.broadcasts.detach(&r.actor_id, &r.event_id, &r.destination_id).await?;
        Ok(Response::new(pb::DetachResponse {}))
    }

    async fn start_destination(&self, req: Request<pb::EventDestinationRef>) -> Reply<pb::EventDestination> {
        let r = req.into_inner();
        Ok(Response::new(self.broadcasts.start(&r.actor_id, &r.event_id, &r.destination_id).await?.to_proto()))
    }

    async fn stop_destination(&self, req: Request<pb::EventDestinationRef>) -> Reply<pb::EventDestination> {
        let r = req.into_inner();
        Ok(Response::new(self.broadcasts.stop(&r.actor_id, &r.event_id, &r.destination_id).await?.to_proto()))
    }
}
