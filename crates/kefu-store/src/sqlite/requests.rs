//! Order requests (服务单): filed by agents with their order change, listed,
//! and closed by people.

use kefu_core::botturn::{OrderRequest, RequestKind};
use kefu_core::outbound::NotifyEvent;
use kefu_core::request::{FiledRequest, RequestFilter, RequestRow, RequestStatus, Resolution, Resolved};

use super::bot::change_order;
use super::*;

const COLS: &str = "r.id, r.shop_id, r.order_id, o.order_no, r.conversation_id, r.kind, r.detail, r.needs_review, \
                    r.status, r.filed_by, r.created_at, r.resolved_by, r.resolved_at, r.resolution";

type Cols = (
    Uuid,
    Uuid,
    Uuid,
    String,
    Option<Uuid>,
    String,
    String,
    bool,
    String,
    Option<Uuid>,
    i64,
    Option<Uuid>,
    Option<i64>,
    Option<String>,
);

fn row(r: &Row) -> rusqlite::Result<Cols> {
    Ok((
        uuid_col(r, 0)?,
        uuid_col(r, 1)?,
        uuid_col(r, 2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
    ))
}

fn request(t: Cols) -> StoreResult<RequestRow> {
    let (id, shop, order, order_no, conversation, kind, detail, needs_review, status, filed_by, created, by, at, note) =
        t;
    Ok(RequestRow {
        request: OrderRequest {
            id,
            order: OrderId::from_uuid(order),
            kind: RequestKind::parse(&kind).ok_or_else(|| corrupt("order_requests.kind", kind))?,
            detail,
            needs_review,
        },
        shop: ShopId::from_uuid(shop),
        order_no: OrderNo::parse(&order_no).map_err(|_| corrupt("orders.order_no", order_no))?,
        conversation: conversation.map(ConversationId::from_uuid),
        status: RequestStatus::parse(&status).ok_or_else(|| corrupt("order_requests.status", status))?,
        filed_by: filed_by.map(AgentId::from_uuid),
        created_at: ts(created),
        resolved: at.map(|at| Resolved { by: by.map(AgentId::from_uuid), at: ts(at), note: note.unwrap_or_default() }),
    })
}

pub(super) fn load(c: &Connection, shop: ShopId, id: Uuid) -> StoreResult<Option<RequestRow>> {
    one(
        c,
        &format!(
            "SELECT {COLS} FROM order_requests r JOIN orders o ON o.id = r.order_id \
             WHERE r.id = ?1 AND r.shop_id = ?2"
        ),
        params![id, shop.as_uuid()],
        row,
        request,
    )
}

/// Whether the order has an open request of this kind.
pub(super) fn has_open(c: &Connection, order: OrderId, kind: RequestKind) -> StoreResult<bool> {
    let open = one(
        c,
        "SELECT 1 FROM order_requests WHERE order_id = ?1 AND kind = ?2 AND status = 'open' LIMIT 1",
        params![order.as_uuid(), kind.as_str()],
        |row| row.get::<_, i64>(0),
        Ok,
    )?;
    Ok(open.is_some())
}

pub(super) fn file(c: &Connection, f: &FiledRequest) -> StoreResult<RequestRow> {
    let r = &f.request;
    let owned = one(
        c,
        "SELECT 1 FROM orders WHERE id = ?1 AND shop_id = ?2",
        params![r.order.as_uuid(), f.shop.as_uuid()],
        |row| row.get::<_, i64>(0),
        Ok,
    )?;
    if owned.is_none() {
        return Err(StoreError::NotFound("order"));
    }
    if r.kind.one_open_per_order() && has_open(c, r.order, r.kind)? {
        return Err(StoreError::Conflict("request_open"));
    }
    let at = f.at.millis();
    if let Some(change) = &f.change {
        change_order(c, f.shop, change, at)?;
    }
    c.execute(
        "INSERT INTO order_requests (id, shop_id, order_id, conversation_id, kind, detail, needs_review, created_at, filed_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.id,
            f.shop.as_uuid(),
            r.order.as_uuid(),
            f.conversation.map(|c| c.as_uuid()),
            r.kind.as_str(),
            r.detail,
            r.needs_review,
            at,
            f.by.as_uuid()
        ],
    )
    .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict("duplicate") } else { be(e) })?;
    super::notify::announce(c, f.shop, NotifyEvent::RequestFiled, r.id, at)?;
    load(c, f.shop, r.id)?.ok_or(StoreError::NotFound("order request"))
}

pub(super) fn list(c: &Connection, f: &RequestFilter) -> StoreResult<Vec<RequestRow>> {
    let mut sql = format!("SELECT {COLS} FROM order_requests r JOIN orders o ON o.id = r.order_id WHERE r.shop_id = ?");
    let mut args: Vec<Value> = vec![Value::Blob(f.shop.as_uuid().as_bytes().to_vec())];
    if !f.statuses.is_empty() {
        sql.push_str(&format!(" AND r.status IN ({})", vec!["?"; f.statuses.len()].join(", ")));
        args.extend(f.statuses.iter().map(|s| Value::Text(s.as_str().to_owned())));
    }
    if let Some(customer) = f.customer {
        sql.push_str(" AND o.customer_id = ?");
        args.push(Value::Blob(customer.as_uuid().as_bytes().to_vec()));
    }
    if let Some(review) = f.needs_review {
        sql.push_str(" AND r.needs_review = ?");
        args.push(Value::Integer(i64::from(review)));
    }
    sql.push_str(" ORDER BY r.created_at DESC, r.id DESC LIMIT ?");
    args.push(Value::Integer(i64::from(f.limit)));
    many(c, &sql, params_from_iter(args), row, request)
}

pub(super) fn resolve(c: &Connection, r: &Resolution) -> StoreResult<RequestRow> {
    let n = c
        .execute(
            "UPDATE order_requests SET status = ?3, resolved_by = ?4, resolved_at = ?5, resolution = ?6 \
             WHERE id = ?1 AND shop_id = ?2 AND status = 'open'",
            params![r.id, r.shop.as_uuid(), r.status.as_str(), r.by.map(|a| a.as_uuid()), r.at.millis(), r.note],
        )
        .map_err(be)?;
    let row = load(c, r.shop, r.id)?.ok_or(StoreError::NotFound("order request"))?;
    if n == 0 {
        return Err(StoreError::Conflict("request_closed"));
    }
    super::notify::announce(c, r.shop, NotifyEvent::RequestClosed, r.id, r.at.millis())?;
    Ok(row)
}
