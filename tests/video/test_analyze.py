"""A video through the shipped models: one track per person, fused answers, sampled networks, steady labels."""

from __future__ import annotations

import pytest

from agegender.video.analyze import Track, VideoFrame


@pytest.fixture(scope="module")
def analyzer():
    from agegender.inference import FaceAnalyzer

    return FaceAnalyzer(models=("resnet50",))


def test_each_person_is_one_track_with_a_fused_answer(analyzer, walking_clip):
    import cv2

    path, walkers = walking_clip
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 10)
    frame = capture.read()[1]
    capture.release()
    one_frame = analyzer.analyze(frame, bgr=True).faces[0].predictions["resnet50"].age_std
    tracks = list(analyzer.analyze_video(path, thumbnails=True))
    assert len(tracks) == len(walkers) == 4
    for track, walker in zip(
        sorted(tracks, key=lambda t: (t.start_s, t.box[1])), sorted(walkers, key=lambda w: (w.start_s, w.start[1]))
    ):
        assert abs(track.start_s - walker.start_s) < 0.1 and abs(track.end_s - walker.end_s) < 0.1
        p = track.predictions["resnet50"]
        # the fused spread shrinks as frames add up: well under that of one frame's answer
        assert p.gender == "female" and 18 < p.age < 45 and 0 < p.age_std < one_frame / 1.8
        # the networks ran on a sample of the frames, not on all of them
        assert 5 <= track.predicted_frames < track.frames
        assert track.thumbnail is not None and max(track.thumbnail.shape[:2]) <= 112
    hidden = next(
        t for t in tracks if abs(t.start_s - walkers[2].start_s) < 0.1 and abs(t.box[1] - walkers[2].start[1]) < 100
    )
    assert hidden.frames < 40 - 8  # out of sight for 0.4 s (10 frames) and still one track


def test_labels_stay_steady_once_settled_and_every_frame_mode_runs_the_networks_everywhere(analyzer, walking_clip):
    path, _ = walking_clip
    ages: dict[int, list[float]] = {}
    sampled = faces = 0
    for item in analyzer.analyze_video(path, frames=True):
        if isinstance(item, VideoFrame):
            for face in item.faces:
                faces += 1
                sampled += face.track_id in item.sampled
                if face.predictions:
                    ages.setdefault(face.track_id, []).append(face.predictions["resnet50"].age)
    assert sampled < faces / 2
    for series in ages.values():
        settled = series[len(series) // 2 :]
        assert max(settled) - min(settled) < 1.5  # the label a viewer sees barely moves
    every = [i for i in analyzer.analyze_video(path, frames=True, every_frame=True) if isinstance(i, VideoFrame)]
    assert all(set(f.sampled) == {face.track_id for face in f.faces} for f in every)


def test_an_interrupted_analysis_hands_out_the_people_seen_so_far(analyzer, walking_clip):
    path, _ = walking_clip
    analysis = analyzer.analyze_video(path, frames=True)
    for item in analysis:
        if isinstance(item, VideoFrame) and item.index == 20:
            break  # as Ctrl-C would stop the loop
    tracks = analysis.finish()
    assert len(tracks) == 2 and all(isinstance(t, Track) and t.end_s <= 20 / 25 for t in tracks)
    assert analysis.finish() == []


def test_stride_analyses_every_nth_frame(analyzer, walking_clip):
    path, _ = walking_clip
    analysis = analyzer.analyze_video(path, frames=True, stride=3)
    frames = [i.index for i in analysis if isinstance(i, VideoFrame)]
    assert frames == list(range(0, analysis.info.frame_count, 3))


def test_a_4k_video_is_analysed_with_the_memory_of_a_few_frames(analyzer, example_face, tmp_path):
    """Big frames: searched with the photo pyramid; memory grows by a few frames' worth, not the video's."""
    import resource

    from agegender.evaluation.clips import Walker, write_clip

    face = example_face
    path = tmp_path / "uhd.mp4"
    write_clip(path, [Walker(face, 0, 1, (1200, 1000), (2400, 1000), 500, 520)], width=3840, height=2160, seconds=0.6)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracks = list(analyzer.analyze_video(path))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(tracks) == 1 and tracks[0].predictions["resnet50"].gender == "female"
    assert grown_mb < 400, grown_mb  # one 4K frame is 25 MB; a video's worth would be 375 MB
