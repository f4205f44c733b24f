package models

import "context"

// SearchContactsWindow is SearchContacts with a window of the given size,
// so tests reach the index half of a search on a small table.
func (s *Store) SearchContactsWindow(ctx context.Context, f ContactFilter, offset, limit int, countCap int64, window int) (ContactPage, error) {
	return s.searchContacts(ctx, f, offset, limit, countCap, window)
}
