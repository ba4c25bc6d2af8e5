from tests.support.wsclient import Client, audio, of, request


def test_one_context_speaks_and_ends_with_done(server: str) -> None:
    with Client(server) as client:
        client.send(request("c1", "Hello there, world."))
        frames = client.until_done("c1")
    kinds = [f["type"] for f in frames]
    assert kinds[-1] == "done"
    assert "chunk" in kinds
    # three words of 0.1 s each at 16 kHz, s16
    assert len(audio(frames, "c1")) == 3 * 1600 * 2
    assert all(f["flush_id"] == 1 for f in of(frames, "c1", "chunk"))
