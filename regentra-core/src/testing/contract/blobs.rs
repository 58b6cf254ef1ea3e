use super::*;

pub async fn blobs_round_trip_chunk_by_chunk(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, blob) = (org(1), id(50));
    let chunks: Vec<Vec<u8>> = vec![
        vec![0u8, 1, 2, 255],
        (0..=255u8).collect(),
        vec![],
        vec![7; 70_000],
    ];
    for (seq, chunk) in chunks.iter().enumerate() {
        store
            .put_blob_chunk(a, blob, seq as u32, chunk.clone())
            .await
            .expect("chunk stored");
    }
    for (seq, chunk) in chunks.iter().enumerate() {
        let read = store
            .blob_chunk(a, blob, seq as u32)
            .await
            .expect("chunk read");
        assert_eq!(
            read.as_ref(),
            Some(chunk),
            "chunk {seq} reads back byte for byte"
        );
    }
    assert_eq!(
        store
            .blob_chunk(a, blob, chunks.len() as u32)
            .await
            .expect("read"),
        None,
        "past the end"
    );
    // Rewriting a chunk replaces it.
    store
        .put_blob_chunk(a, blob, 0, b"new".to_vec())
        .await
        .expect("rewrite");
    assert_eq!(
        store.blob_chunk(a, blob, 0).await.expect("read"),
        Some(b"new".to_vec())
    );
}

pub async fn blobs_are_isolated_and_deleted_whole(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let (a, b, blob) = (org(1), org(2), id(50));
    for seq in 0..3 {
        store
            .put_blob_chunk(a, blob, seq, vec![seq as u8; 10])
            .await
            .expect("chunk");
    }
    assert_eq!(
        store.blob_chunk(b, blob, 0).await.expect("read"),
        None,
        "another org cannot read A's blob"
    );
    store
        .delete_blob(b, blob)
        .await
        .expect("deleting through B is a no-op");
    assert!(
        store.blob_chunk(a, blob, 2).await.expect("read").is_some(),
        "B's delete did not touch A"
    );
    store.delete_blob(a, blob).await.expect("delete");
    for seq in 0..3 {
        assert_eq!(
            store.blob_chunk(a, blob, seq).await.expect("read"),
            None,
            "every chunk is gone"
        );
    }
    store
        .delete_blob(a, blob)
        .await
        .expect("deleting a missing blob is fine");
}
