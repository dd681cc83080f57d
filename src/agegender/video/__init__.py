"""Moving pictures: video files, cameras and streams read frame by frame, faces tracked, one answer per person."""
