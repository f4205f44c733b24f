package handlers

// webhooksRoutes registers the webhooks pages and API endpoints.
func (h *Handlers) webhooksRoutes(r routes) {}
