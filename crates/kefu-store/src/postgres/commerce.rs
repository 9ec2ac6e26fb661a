//! The merchant's data: customers, products, orders and shipments, as the
//! functions `PostgresStore`'s verbs run on a pooled connection.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;

use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::Timestamp;
use kefu_core::customer::Customer;
use kefu_core::id::*;
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderWithShipments, Shipment, ShipmentEvent};
use kefu_core::store::StoreResult;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::rows::*;
use super::{be, query_prepared};
use crate::codec::corrupt;

pub(super) async fn upsert_customers(c: &mut deadpool_postgres::Object, customers: &[Customer]) -> StoreResult<()> {
    let tx = c.transaction().await.map_err(be)?;
    let stmt = tx
        .prepare(
            "INSERT INTO customers (id, shop_id, external_id, nickname, tier, tags, phone, lifetime_spend, complaint_count, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (shop_id, external_id) DO UPDATE SET nickname = excluded.nickname, tier = excluded.tier,
               tags = excluded.tags, phone = excluded.phone, lifetime_spend = excluded.lifetime_spend,
               complaint_count = excluded.complaint_count",
        )
        .await
        .map_err(be)?;
    for x in customers {
        tx.execute(
            &stmt,
            &[
                &x.id.as_uuid(),
                &x.shop_id.as_uuid(),
                &x.external_id,
                &x.nickname,
                &x.tier.as_str(),
                &x.tags,
                &x.phone.as_ref().map(|p| p.as_str()),
                &x.lifetime_spend.0,
                &(x.complaint_count.min(i32::MAX as u32) as i32),
                &x.created_at.millis(),
            ],
        )
        .await
        .map_err(be)?;
    }
    tx.commit().await.map_err(be)
}

pub(super) async fn customer(c: &deadpool_postgres::Object, id: CustomerId) -> StoreResult<Option<Customer>> {
    let row = c
        .query_opt(&format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1"), &[&id.as_uuid()])
        .await
        .map_err(be)?;
    row.map(|r| customer_from(&r, 0)).transpose()
}

pub(super) async fn customer_ids_by_external(
    c: &deadpool_postgres::Object,
    shop: ShopId,
    external_ids: &[String],
) -> StoreResult<HashMap<String, CustomerId>> {
    let rows = c
        .query(
            "SELECT external_id, id FROM customers WHERE shop_id = $1 AND external_id = ANY($2)",
            &[&shop.as_uuid(), &external_ids],
        )
        .await
        .map_err(be)?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), CustomerId::from_uuid(r.get(1)))).collect())
}

pub(super) async fn upsert_products(c: &mut deadpool_postgres::Object, products: &[Product]) -> StoreResult<()> {
    let tx = c.transaction().await.map_err(be)?;
    let stmt = tx
        .prepare(
            "INSERT INTO products (id, shop_id, sku, name, model, category, price) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (shop_id, sku) DO UPDATE SET name = excluded.name, model = excluded.model,
               category = excluded.category, price = excluded.price",
        )
        .await
        .map_err(be)?;
    for p in products {
        tx.execute(
            &stmt,
            &[&p.id.as_uuid(), &p.shop_id.as_uuid(), &p.sku, &p.name, &p.model, &p.category.joined(), &p.price.0],
        )
        .await
        .map_err(be)?;
    }
    tx.commit().await.map_err(be)
}

pub(super) async fn products(c: &deadpool_postgres::Object, shop: ShopId, limit: u32) -> StoreResult<Vec<Product>> {
    let rows = c
        .query(
            "SELECT id, shop_id, sku, name, model, category, price FROM products WHERE shop_id = $1 ORDER BY sku LIMIT $2",
            &[&shop.as_uuid(), &i64::from(limit)],
        )
        .await
        .map_err(be)?;
    rows.iter().map(product).collect()
}

fn product(r: &tokio_postgres::Row) -> StoreResult<Product> {
    let category: String = r.get(5);
    Ok(Product {
        id: ProductId::from_uuid(r.get(0)),
        shop_id: ShopId::from_uuid(r.get(1)),
        sku: r.get(2),
        name: r.get(3),
        model: r.get(4),
        category: CategoryPath::parse(&category).map_err(|_| corrupt("category", category.clone()))?,
        price: Fen(r.get(6)),
    })
}

pub(super) async fn product_by_sku(c: &impl GenericClient, shop: ShopId, sku: &str) -> StoreResult<Option<Product>> {
    let row = c
        .query_opt(
            "SELECT id, shop_id, sku, name, model, category, price FROM products WHERE shop_id = $1 AND sku = $2",
            &[&shop.as_uuid(), &sku],
        )
        .await
        .map_err(be)?;
    row.as_ref().map(product).transpose()
}

pub(super) async fn upsert_orders(c: &mut deadpool_postgres::Object, orders: &[Order]) -> StoreResult<()> {
    let tx = c.transaction().await.map_err(be)?;
    let upsert = tx
        .prepare(
            "INSERT INTO orders (id, shop_id, order_no, customer_id, status, total, province, city, address, created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (shop_id, order_no) DO UPDATE SET customer_id = excluded.customer_id, status = excluded.status, total = excluded.total,
               province = excluded.province, city = excluded.city, address = excluded.address, created_at = excluded.created_at,
               paid_at = excluded.paid_at, shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at,
               completed_at = excluded.completed_at, cancelled_at = excluded.cancelled_at, updated_at = excluded.updated_at
             WHERE orders.updated_at <= excluded.updated_at
             RETURNING id",
        )
        .await
        .map_err(be)?;
    let item = tx
        .prepare(
            "INSERT INTO order_items (order_id, line, sku, name, quantity, unit_price) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await
        .map_err(be)?;
    for o in orders {
        let params: [&(dyn ToSql + Sync); 16] = [
            &o.id.as_uuid(),
            &o.shop_id.as_uuid(),
            &o.order_no.as_str(),
            &o.customer_id.as_uuid(),
            &o.status.as_str(),
            &o.total.0,
            &o.province,
            &o.city,
            &o.address,
            &o.created_at.millis(),
            &o.paid_at.map(Timestamp::millis),
            &o.shipped_at.map(Timestamp::millis),
            &o.delivered_at.map(Timestamp::millis),
            &o.completed_at.map(Timestamp::millis),
            &o.cancelled_at.map(Timestamp::millis),
            &o.updated_at.millis(),
        ];
        // No row back: the stored order is newer, leave it alone.
        let Some(row) = tx.query_opt(&upsert, &params).await.map_err(be)? else { continue };
        let id: Uuid = row.get(0);
        tx.execute("DELETE FROM order_items WHERE order_id = $1", &[&id]).await.map_err(be)?;
        for (line, it) in o.items.iter().enumerate() {
            tx.execute(
                &item,
                &[&id, &(line as i32), &it.sku, &it.name, &(it.quantity.min(i32::MAX as u32) as i32), &it.unit_price.0],
            )
            .await
            .map_err(be)?;
        }
    }
    tx.commit().await.map_err(be)
}

pub(super) async fn order(c: &deadpool_postgres::Object, id: OrderId) -> StoreResult<Option<Order>> {
    let row =
        c.query_opt(&format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1"), &[&id.as_uuid()]).await.map_err(be)?;
    match row {
        Some(r) => Ok(Some(order_from(c, &r).await?)),
        None => Ok(None),
    }
}

pub(super) async fn order_by_no(
    c: &deadpool_postgres::Object,
    shop: ShopId,
    order_no: &OrderNo,
) -> StoreResult<Option<Order>> {
    let row = c
        .query_opt(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE shop_id = $1 AND order_no = $2"),
            &[&shop.as_uuid(), &order_no.as_str()],
        )
        .await
        .map_err(be)?;
    match row {
        Some(r) => Ok(Some(order_from(c, &r).await?)),
        None => Ok(None),
    }
}

pub(super) async fn order_ids_by_no(
    c: &deadpool_postgres::Object,
    shop: ShopId,
    order_nos: &[OrderNo],
) -> StoreResult<HashMap<OrderNo, OrderId>> {
    let nos: Vec<&str> = order_nos.iter().map(OrderNo::as_str).collect();
    let rows = c
        .query("SELECT order_no, id FROM orders WHERE shop_id = $1 AND order_no = ANY($2)", &[&shop.as_uuid(), &nos])
        .await
        .map_err(be)?;
    rows.iter()
        .map(|r| {
            let no: String = r.get(0);
            let no = OrderNo::parse(&no).map_err(|_| corrupt("order_no", no.clone()))?;
            Ok((no, OrderId::from_uuid(r.get(1))))
        })
        .collect()
}

/// The customer's newest orders with their items, in two queries (not one
/// per order: each is a network round trip).
pub(super) async fn orders_of_customer(
    c: &impl GenericClient,
    customer: CustomerId,
    limit: u32,
) -> StoreResult<Vec<Order>> {
    let rows = query_prepared(
        c,
        &format!("SELECT {ORDER_COLS} FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2"),
        &[&customer.as_uuid(), &i64::from(limit)],
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get(0)).collect();
    let mut items: HashMap<Uuid, Vec<OrderItem>> = HashMap::new();
    for i in query_prepared(
        c,
        "SELECT order_id, sku, name, quantity, unit_price FROM order_items WHERE order_id = ANY($1) ORDER BY order_id, line",
        &[&ids],
    )
    .await?
    {
        items.entry(i.get(0)).or_default().push(item_from(&i, 1));
    }
    rows.iter()
        .map(|r| {
            let id: Uuid = r.get(0);
            order_with_items(r, items.remove(&id).unwrap_or_default())
        })
        .collect()
}

/// The customer's newest orders, each row `ORDER_COLS` then its items and
/// its shipments with their events as JSON arrays (`$1` customer, `$2`
/// limit). One statement: one round trip, and one snapshot without a
/// transaction around it.
pub(super) fn orders_with_shipments_sql() -> String {
    format!(
        "SELECT {ORDER_COLS}, \
           (SELECT json_agg(json_build_array(i.sku, i.name, i.quantity, i.unit_price) ORDER BY i.line)::text \
            FROM order_items i WHERE i.order_id = o.id), \
           (SELECT json_agg(json_build_array(s.id, s.shop_id, s.carrier, s.tracking_no, s.updated_at, \
               (SELECT json_agg(json_build_array(e.at, e.location, e.description) ORDER BY e.line) \
                FROM shipment_events e WHERE e.shipment_id = s.id)) ORDER BY s.updated_at)::text \
            FROM shipments s WHERE s.order_id = o.id), \
           (SELECT array_agg(r.kind) FROM order_requests r WHERE r.order_id = o.id AND r.status = 'open') \
         FROM orders o WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT $2"
    )
}

/// Columns of [`orders_with_shipments_sql`]'s rows: the order's, its items,
/// its shipments, the kinds of its open requests.
pub(super) const ORDER_WITH_SHIPMENTS_COUNT: usize = ORDER_COUNT + 3;

pub(super) async fn orders_with_shipments(
    c: &impl GenericClient,
    customer: CustomerId,
    limit: u32,
) -> StoreResult<Vec<OrderWithShipments>> {
    query_prepared(c, &orders_with_shipments_sql(), &[&customer.as_uuid(), &i64::from(limit)])
        .await?
        .iter()
        .map(order_with_shipments_from)
        .collect()
}

type ItemJson = (String, String, i32, i64);
type EventJson = (i64, String, String);
type ShipmentJson = (String, String, String, String, i64, Option<Vec<EventJson>>);

/// A row of [`orders_with_shipments_sql`].
pub(super) fn order_with_shipments_from(r: &tokio_postgres::Row) -> StoreResult<OrderWithShipments> {
    let items: Vec<ItemJson> = json_column(r, ORDER_COUNT, "order_items")?;
    let items = items
        .into_iter()
        .map(|(sku, name, quantity, unit_price)| OrderItem {
            sku,
            name,
            quantity: u32::try_from(quantity).unwrap_or(0),
            unit_price: Fen(unit_price),
        })
        .collect();
    let order = order_with_items(r, items)?;
    let shipments: Vec<ShipmentJson> = json_column(r, ORDER_COUNT + 1, "shipments")?;
    let uuid = |text: String| Uuid::parse_str(&text).map_err(|_| corrupt("shipments", text));
    let shipments = shipments
        .into_iter()
        .map(|(id, shop, carrier, tracking_no, updated_at, events)| {
            Ok(Shipment {
                id: ShipmentId::from_uuid(uuid(id)?),
                shop_id: ShopId::from_uuid(uuid(shop)?),
                order_id: order.id,
                carrier,
                tracking_no,
                events: events
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(at, location, description)| ShipmentEvent { at: Timestamp(at), location, description })
                    .collect(),
                updated_at: Timestamp(updated_at),
            })
        })
        .collect::<StoreResult<_>>()?;
    let open_requests = r
        .get::<_, Option<Vec<String>>>(ORDER_COUNT + 2)
        .unwrap_or_default()
        .into_iter()
        .map(|kind| kefu_core::botturn::RequestKind::parse(&kind).ok_or_else(|| corrupt("order_requests.kind", kind)))
        .collect::<StoreResult<_>>()?;
    Ok(OrderWithShipments { order, shipments, open_requests })
}

/// A `json_agg(...)::text` column: NULL when nothing was aggregated.
fn json_column<T: serde::de::DeserializeOwned>(
    r: &tokio_postgres::Row,
    index: usize,
    column: &'static str,
) -> StoreResult<Vec<T>> {
    match r.get::<_, Option<&str>>(index) {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|_| corrupt(column, text)),
    }
}

/// A `shipments` row (id, shop_id, order_id, carrier, tracking_no, updated_at) with its events.
fn shipment_from(r: &tokio_postgres::Row, events: Vec<ShipmentEvent>) -> Shipment {
    Shipment {
        id: ShipmentId::from_uuid(r.get(0)),
        shop_id: ShopId::from_uuid(r.get(1)),
        order_id: OrderId::from_uuid(r.get(2)),
        carrier: r.get(3),
        tracking_no: r.get(4),
        events,
        updated_at: Timestamp(r.get(5)),
    }
}

pub(super) async fn upsert_shipments(c: &mut deadpool_postgres::Object, shipments: &[Shipment]) -> StoreResult<()> {
    let tx = c.transaction().await.map_err(be)?;
    for s in shipments {
        let id: Uuid = tx
            .query_one(
                "INSERT INTO shipments (id, shop_id, order_id, carrier, tracking_no, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (shop_id, tracking_no) DO UPDATE SET order_id = excluded.order_id, carrier = excluded.carrier, updated_at = excluded.updated_at
                 RETURNING id",
                &[&s.id.as_uuid(), &s.shop_id.as_uuid(), &s.order_id.as_uuid(), &s.carrier, &s.tracking_no, &s.updated_at.millis()],
            )
            .await
            .map_err(be)?
            .get(0);
        tx.execute("DELETE FROM shipment_events WHERE shipment_id = $1", &[&id]).await.map_err(be)?;
        for (line, e) in s.events.iter().enumerate() {
            tx.execute(
                "INSERT INTO shipment_events (shipment_id, line, at, location, description) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &(line as i32), &e.at.millis(), &e.location, &e.description],
            )
            .await
            .map_err(be)?;
        }
    }
    tx.commit().await.map_err(be)
}

pub(super) async fn shipments_of_order(c: &deadpool_postgres::Object, order: OrderId) -> StoreResult<Vec<Shipment>> {
    Ok(shipments_of_orders(c, &[order.as_uuid()]).await?.remove(&order.as_uuid()).unwrap_or_default())
}

/// The shipments of these orders by order, oldest first, each with its
/// events: two queries however many orders and shipments.
async fn shipments_of_orders(c: &impl GenericClient, orders: &[Uuid]) -> StoreResult<HashMap<Uuid, Vec<Shipment>>> {
    let rows = query_prepared(
        c,
        "SELECT id, shop_id, order_id, carrier, tracking_no, updated_at FROM shipments WHERE order_id = ANY($1) ORDER BY updated_at",
        &[&orders],
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get(0)).collect();
    let mut events: HashMap<Uuid, Vec<ShipmentEvent>> = HashMap::new();
    for e in query_prepared(
        c,
        "SELECT shipment_id, at, location, description FROM shipment_events WHERE shipment_id = ANY($1) ORDER BY shipment_id, line",
        &[&ids],
    )
    .await?
    {
        events.entry(e.get(0)).or_default().push(ShipmentEvent {
            at: Timestamp(e.get(1)),
            location: e.get(2),
            description: e.get(3),
        });
    }
    let mut out: HashMap<Uuid, Vec<Shipment>> = HashMap::new();
    for r in &rows {
        let id: Uuid = r.get(0);
        out.entry(r.get(2)).or_default().push(shipment_from(r, events.remove(&id).unwrap_or_default()));
    }
    Ok(out)
}
