package handlers

// transactionalRoutes registers the transactional pages and API endpoints.
func (h *Handlers) transactionalRoutes(r routes) {}
