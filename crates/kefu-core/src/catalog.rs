//! The shop's catalogue: products with SKU, model and category path.

use crate::id::{ProductId, ShopId};
use crate::money::Fen;

/// A category path such as 家用电器/冰箱/对开门.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CategoryPath(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a category path is 1-6 non-empty levels separated by '/'")]
pub struct InvalidCategoryPath;

impl CategoryPath {
    pub fn parse(text: &str) -> Result<Self, InvalidCategoryPath> {
        let levels: Vec<String> = text.split('/').map(|l| l.trim().to_owned()).collect();
        if levels.is_empty() || levels.len() > 6 || levels.iter().any(|l| l.is_empty() || l.len() > 64) {
            return Err(InvalidCategoryPath);
        }
        Ok(Self(levels))
    }
    pub fn levels(&self) -> &[String] {
        &self.0
    }
    pub fn top(&self) -> &str {
        &self.0[0]
    }
    pub fn joined(&self) -> String {
        self.0.join("/")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub shop_id: ShopId,
    pub sku: String,
    pub name: String,
    pub model: Option<String>,
    pub category: CategoryPath,
    pub price: Fen,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_paths() {
        let p = CategoryPath::parse("家用电器/冰箱/对开门").expect("valid");
        assert_eq!(p.top(), "家用电器");
        assert_eq!(p.joined(), "家用电器/冰箱/对开门");
        assert!(CategoryPath::parse("家用电器//冰箱").is_err());
        assert!(CategoryPath::parse("").is_err());
    }
}
