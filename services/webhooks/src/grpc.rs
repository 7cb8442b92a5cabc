//! `stagecast.webhooks.v1.WebhooksService`; proto types stop here.
use chrono::{DateTime, Utc};
use stagecast_proto::webhooks::v1::{self as pb, webhooks_service_server::WebhooksService};
use tonic::{Request, Response, Status};

use crate::service::{DeliveryView, EndpointRow, Webhooks};

pub struct WebhooksApi {
    webhooks: Webhooks,
}

impl WebhooksApi {
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

fn endpoint(e: EndpointRow) -> pb::Endpoint {
    pb::Endpoint {
        id: e.id.to_string(),
        owner_id: e.owner_id.to_string(),
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        created_at: Some(ts(e.created_at)),
        failing_since: e.failing_since.map(ts),
    }
}

fn delivery(v: DeliveryView) -> pb::Delivery {
    let d = v.delivery;
    pb::Delivery {
        id: d.id.to_string(),
        message_id: format!("msg_{}", d.message_id.simple()),
        event_type: d.event_type,
        next_attempt_at: (d.state == "pending").then(|| ts(d.next_attempt_at)),
        state: d.state,
        attempts: d.attempts.max(0) as u32,
        created_at: Some(ts(d.created_at)),
        log: v
            .log
            .into_iter()
            .map(|a| pb::Attempt {
                at: Some(ts(a.at)),
                status_code: a.status_code.max(0) as u32,
                error: a.error,
                duration_ms: a.duration_ms.max(0) as u32,
            })
            .collect(),
        payload: d.payload,
    }
}

#[tonic::async_trait]
impl WebhooksService for WebhooksApi {
    async fn create_endpoint(&self, req: Request<pb::CreateEndpointRequest>) -> Reply<pb::CreatedEndpoint> {
        let r = req.into_inner();
        let (e, secret) = self.webhooks.create(&r.actor_id, &r.url, &r.description, &r.event_types).await?;
        Ok(Response::new(pb::CreatedEndpoint { endpoint: Some(endpoint(e)), secret: secret.expose().to_owned() }))
    }

    async fn list_endpoints(&self, req: Request<pb::ListEndpointsRequest>) -> Reply<pb::EndpointList> {
        let endpoints = self.webhooks.list(&req.into_inner().actor_id).await?.into_iter().map(endpoint).collect();
        Ok(Response::new(pb::EndpointList { endpoints }))
    }

    async fn get_endpoint(&self, req: Request<pb::EndpointRef>) -> Reply<pb::Endpoint> {
        let r = req.into_inner();
        Ok(Response::new(endpoint(self.webhooks.get(&r.actor_id, &r.endpoint_id).await?)))
    }

    async fn update_endpoint(&self, req: Request<pb::UpdateEndpointRequest>) -> Reply<pb::Endpoint> {
        let r = req.into_inner();
        let types = r.set_event_types.then_some(r.event_types.as_slice());
        let e = self
            .webhooks
            .update(&r.actor_id, &r.endpoint_id, r.url.as_deref(), r.description.as_deref(), types, r.enabled)
            .await?;
        Ok(Response::new(endpoint(e)))
    }

    async fn delete_endpoint(&self, req: Request<pb::EndpointRef>) -> Reply<pb::DeleteEndpointResponse> {
        let r = req.into_inner();
        self.webhooks.delete(&r.actor_id, &r.endpoint_id).await?;
        Ok(Response::new(pb::DeleteEndpointResponse {}))
    }

    async fn rotate_secret(&self, req: Request<pb::EndpointRef>) -> Reply<pb::CreatedEndpoint> {
        let r = req.into_inner();
        let (e, secret) = self.webhooks.rotate(&r.actor_id, &r.endpoint_id).await?;
        Ok(Response::new(pb::CreatedEndpoint { endpoint: Some(endpoint(e)), secret: secret.expose().to_owned() }))
    }

    async fn list_deliveries(&self, req: Request<pb::ListDeliveriesRequest>) -> Reply<pb::DeliveryList> {
        let r = req.into_inner();
        let deliveries =
            self.webhooks.deliveries(&r.actor_id, &r.endpoint_id, r.limit).await?.into_iter().map(delivery).collect();
        Ok(Response::new(pb::DeliveryList { deliveries }))
    }

    async fn redeliver(&self, req: Request<pb::DeliveryRef>) -> Reply<pb::Delivery> {
        let r = req.into_inner();
        Ok(Response::new(delivery(self.webhooks.redeliver(&r.actor_id, &r.endpoint_id, &r.delivery_id).await?)))
    }
}
