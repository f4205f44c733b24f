package handlers

// analyticsRoutes registers the analytics pages and API endpoints.
func (h *Handlers) analyticsRoutes(r routes) {
	h.apiEventsRoutes(r)
}
