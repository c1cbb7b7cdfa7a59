"""Live channels (MediaLive compatible): push/pull inputs, real-time anonymized HLS out, recorded."""
