package handlers

// segmentsRoutes registers the segments pages and API endpoints.
func (h *Handlers) segmentsRoutes(r routes) {}
