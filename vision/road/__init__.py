"""The road survey: drive video + GPS track -> sampled frames, tracked and merged defects, grades,
evidence, the report folder and the survey on the road network."""
