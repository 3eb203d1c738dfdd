"""eCall: EN 15722 Minimum Set of Data codec, vehicle gateway and the hand-off to the province."""
