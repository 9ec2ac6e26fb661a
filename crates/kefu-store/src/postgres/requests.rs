//! Order requests (服务单): filed by agents with their order change, listed,
//! and closed by people.

use kefu_core::botturn::{OrderRequest, RequestKind};
use kefu_core::request::{FiledRequest, RequestFilter, RequestRow, RequestStatus, Resolution, Resolved};

use kefu_core::outbound::NotifyEvent;

use super::bot::write_order_change;
use super::notify::announce_from_r;
use super::*;

const COLS: &str = "r.id, r.shop_id, r.order_id, o.order_no, r.conversation_id, r.kind, r.detail, r.needs_review, \
                    r.status, r.filed_by, r.created_at, r.resolved_by, r.resolved_at, r.resolution";

fn request(r: &Row) -> StoreResult<RequestRow> {
    let kind: String = r.get(5);
    let order_no: String = r.get(3);
    let status: String = r.get(8);
    let resolved = r.get::<_, Option<i64>>(12).map(|at| Resolved {
        by: r.get::<_, Option<Uuid>>(11).map(AgentId::from_uuid),
        at: Timestamp(at),
        note: r.get::<_, Option<String>>(13).unwrap_or_default(),
    });
    Ok(RequestRow {
        request: OrderRequest {
            id: r.get(0),
            order: OrderId::from_uuid(r.get(2)),
            kind: RequestKind::parse(&kind).ok_or_else(|| corrupt("order_requests.kind", kind))?,
            detail: r.get(6),
            needs_review: r.get(7),
        },
        shop: ShopId::from_uuid(r.get(1)),
        order_no: OrderNo::parse(&order_no).map_err(|_| corrupt("orders.order_no", order_no))?,
        conversation: r.get::<_, Option<Uuid>>(4).map(ConversationId::from_uuid),
        status: RequestStatus::parse(&status).ok_or_else(|| corrupt("order_requests.status", status))?,
        filed_by: r.get::<_, Option<Uuid>>(9).map(AgentId::from_uuid),
        created_at: Timestamp(r.get(10)),
        resolved,
    })
}

pub(super) async fn load(c: &impl GenericClient, shop: ShopId, id: Uuid) -> StoreResult<Option<RequestRow>> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {COLS} FROM order_requests r JOIN orders o ON o.id = r.order_id \
                 WHERE r.id = $1 AND r.shop_id = $2"
            ),
            &[&id, &shop.as_uuid()],
        )
        .await
        .map_err(be)?;
    row.as_ref().map(request).transpose()
}

/// Whether the order has an open request of this kind. Callers hold the
/// order's row lock, so no one files one between this and their insert.
pub(super) async fn has_open(c: &impl GenericClient, order: OrderId, kind: RequestKind) -> StoreResult<bool> {
    let open = query_opt_prepared(
        c,
        "SELECT 1 FROM order_requests WHERE order_id = $1 AND kind = $2 AND status = 'open' LIMIT 1",
        &[&order.as_uuid(), &kind.as_str()],
    )
    .await?;
    Ok(open.is_some())
}

pub(super) async fn file(c: &mut deadpool_postgres::Object, f: &FiledRequest) -> StoreResult<RequestRow> {
    let r = &f.request;
    let tx = c.transaction().await.map_err(be)?;
    // The order's lock orders two people filing on one order, so the
    // one-open-at-a-time rule holds between them.
    let status = query_opt_prepared(
        &tx,
        "SELECT status FROM orders WHERE id = $1 AND shop_id = $2 FOR UPDATE",
        &[&r.order.as_uuid(), &f.shop.as_uuid()],
    )
    .await?
    .ok_or(StoreError::NotFound("order"))?;
    let status = codec::order_status(status.get(0))?;
    if r.kind.one_open_per_order() && has_open(&tx, r.order, r.kind).await? {
        return Err(StoreError::Conflict("request_open"));
    }
    let at = f.at.millis();
    if let Some(change) = &f.change {
        if !change.allowed_from(status) {
            return Err(StoreError::Conflict("order_state"));
        }
        write_order_change(&tx, change, at).await?;
    }
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH r AS (INSERT INTO order_requests \
               (id, shop_id, order_id, conversation_id, kind, detail, needs_review, created_at, filed_by) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, shop_id, created_at AS at) {}",
            announce_from_r(NotifyEvent::RequestFiled, "$10")
        )
    });
    execute_prepared(
        &tx,
        &SQL,
        &[
            &r.id,
            &f.shop.as_uuid(),
            &r.order.as_uuid(),
            &f.conversation.map(|c| c.as_uuid()),
            &r.kind.as_str(),
            &r.detail,
            &r.needs_review,
            &at,
            &f.by.as_uuid(),
            &Uuid::now_v7(),
        ],
    )
    .await?;
    let row = load(&tx, f.shop, r.id).await?.ok_or(StoreError::NotFound("order request"))?;
    tx.commit().await.map_err(be)?;
    Ok(row)
}

pub(super) async fn list(c: &impl GenericClient, f: &RequestFilter) -> StoreResult<Vec<RequestRow>> {
    let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
    let rows = c
        .query(
            &format!(
                "SELECT {COLS} FROM order_requests r JOIN orders o ON o.id = r.order_id \
                 WHERE r.shop_id = $1 AND (cardinality($2::text[]) = 0 OR r.status = ANY($2)) \
                   AND ($3::uuid IS NULL OR o.customer_id = $3) \
                   AND ($4::boolean IS NULL OR r.needs_review = $4) \
                 ORDER BY r.created_at DESC, r.id DESC LIMIT $5"
            ),
            &[&f.shop.as_uuid(), &statuses, &f.customer.map(|c| c.as_uuid()), &f.needs_review, &i64::from(f.limit)],
        )
        .await
        .map_err(be)?;
    rows.iter().map(request).collect()
}

pub(super) async fn resolve(c: &impl GenericClient, r: &Resolution) -> StoreResult<RequestRow> {
    // The update and its announcement in one statement: one snapshot, atomic without a transaction.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH r AS (UPDATE order_requests SET status = $3, resolved_by = $4, resolved_at = $5, resolution = $6 \
               WHERE id = $1 AND shop_id = $2 AND status = 'open' RETURNING id, shop_id, resolved_at AS at), \
             d AS ({}) SELECT count(*) FROM r",
            announce_from_r(NotifyEvent::RequestClosed, "$7")
        )
    });
    let n: i64 = query_prepared(
        c,
        &SQL,
        &[
            &r.id,
            &r.shop.as_uuid(),
            &r.status.as_str(),
            &r.by.map(|a| a.as_uuid()),
            &r.at.millis(),
            &r.note,
            &Uuid::now_v7(),
        ],
    )
    .await?
    .first()
    .map_or(0, |row| row.get(0));
    let row = load(c, r.shop, r.id).await?.ok_or(StoreError::NotFound("order request"))?;
    if n == 0 {
        return Err(StoreError::Conflict("request_closed"));
    }
    Ok(row)
}
