"""Search and matching: a jieba-tokenised Whoosh index that follows the database."""
