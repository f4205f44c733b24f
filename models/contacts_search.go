package models

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"gorm.io/gorm"
)

// ContactPage is one page of the contact list and how many contacts match.
type ContactPage struct {
	Rows []Contact
	// Total counts the matches up to the cap the caller gave. Exact is false
	// when more match (Total is then the cap) or when Total is Postgres's
	// estimate of the whole table.
	Total int64
	Exact bool
}

// searchWindow is how many of the newest contacts a text search filters in
// primary-key order before it turns to the trigram index (see
// searchRecentFirst). Filtering one row costs about 1.3 µs, so the window
// costs at most ~13 ms, and any term matching one contact in 200 or more
// fills a 50-row page from it.
const searchWindow = 10_000

// SearchContacts returns the page of contacts matching f, newest first (up
// to limit after skipping offset), with their count capped at countCap. It
// is ListContacts and CountContacts in one, and cheaper: a short last page
// is its own exact count, and a text search on Postgres plans its own way
// through a million rows instead of trusting the planner's guess of how
// many rows "%term%" matches.
func (s *Store) SearchContacts(ctx context.Context, f ContactFilter, offset, limit int, countCap int64) (ContactPage, error) {
	return s.searchContacts(ctx, f, offset, limit, countCap, searchWindow)
}

func (s *Store) searchContacts(ctx context.Context, f ContactFilter, offset, limit int, countCap int64, window int) (ContactPage, error) {
	offset, limit = clampPage(offset, limit)
	countCap = max(countCap, 1)
	if s.dialect == Postgres && strings.TrimSpace(f.Q) != "" {
		return s.searchRecentFirst(ctx, f, offset, limit, countCap, window)
	}
	rows, err := s.ListContacts(ctx, f, offset, limit)
	if err != nil {
		return ContactPage{}, err
	}
	page := ContactPage{Rows: rows}
	if n, ok := pageTotal(offset, limit, len(rows)); ok {
		page.Total, page.Exact = capCount(n, countCap)
		return page, nil
	}
	page.Total, page.Exact, err = s.CountContacts(ctx, f, countCap)
	return page, err
}

// clampPage bounds a page request: no negative offset, 1 to 501 rows.
func clampPage(offset, limit int) (int, int) {
	return max(offset, 0), min(max(limit, 1), 501)
}

// pageTotal is the number of matches when a page shows it: a page shorter
// than asked for is the last one (unless it is empty past the end).
func pageTotal(offset, limit, got int) (int64, bool) {
	if got < limit && (got > 0 || offset == 0) {
		return int64(offset + got), true
	}
	return 0, false
}

// capCount applies CountContacts' cap to a known count.
func capCount(n, countCap int64) (int64, bool) {
	if n > countCap {
		return countCap, false
	}
	return n, true
}

// hasTrigram reports whether a search term gives pg_trgm something to look
// up: a run of three letters or digits. Without one the trigram index can
// only be read whole, which is slower than reading the table.
func hasTrigram(q string) bool {
	run := 0
	for _, r := range q {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			run++
			if run == 3 {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

// searchRecentFirst answers a text search on Postgres in two parts: the
// newest `window` contacts are filtered in primary-key order, then, only if
// the page or the count needs more, the older ones through the trigram
// index. Left to itself the planner picks one plan for both cases and gets
// one of them badly wrong at a million rows: walking the primary key
// backwards for a term it thinks is common but whose matches are all old
// (1.4 s for "person12"), or fetching and sorting every match of a common
// term through the index (0.3 s for "maria"). A term common among recent
// contacts is answered by the walk; one that is not has few matches there,
// which is when the index is cheap. Both parts read one snapshot.
func (s *Store) searchRecentFirst(ctx context.Context, f ContactFilter, offset, limit int, countCap int64, window int) (ContactPage, error) {
	where, args := s.contactWhere(f)
	need := offset + limit
	var page ContactPage
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").Error; err != nil {
			return err
		}
		// The window starts at the window-th newest id; a smaller table
		// is all window.
		var bounds []int64
		if err := tx.Raw("SELECT id FROM contacts ORDER BY id DESC LIMIT 1 OFFSET ?", window-1).Scan(&bounds).Error; err != nil {
			return err
		}
		var boundary int64
		if len(bounds) > 0 {
			boundary = bounds[0]
		}
		// OFFSET 0 keeps the filter out of the subquery, so Postgres walks
		// the primary key through the window and stops once the page is full.
		recentSQL := "(SELECT * FROM contacts WHERE id >= ? ORDER BY id DESC OFFSET 0) AS contacts"
		var recent []Contact
		if err := tx.Table(recentSQL, boundary).Where(where, args...).Order("id DESC").Limit(need).Find(&recent).Error; err != nil {
			return err
		}
		// Matches in the window, capped: all of them when the page was not
		// filled, else counted (stopping past the cap).
		inWindow := int64(len(recent))
		if len(recent) == need {
			q := "SELECT COUNT(*) FROM (SELECT 1 FROM " + recentSQL + " WHERE " + where + " LIMIT ?) AS capped"
			if err := tx.Raw(q, append(append([]any{boundary}, args...), countCap+1)...).Scan(&inWindow).Error; err != nil {
				return err
			}
		}
		page.Rows = recent[min(offset, len(recent)):]
		wantRows := len(recent) < need && boundary > 0
		wantCount := inWindow <= countCap && boundary > 0
		if !wantRows && !wantCount {
			page.Total, page.Exact = capCount(inWindow, countCap)
			return nil
		}
		// Older contacts: only the trigram index (or another index of the
		// filter) is worth reading, so walks and full scans are ruled out,
		// unless the term is too short for trigrams.
		if hasTrigram(f.Q) {
			if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
				return err
			}
			if err := tx.Exec("SET LOCAL enable_indexscan = off").Error; err != nil {
				return err
			}
		}
		olderWhere := "(" + where + ") AND id < ?"
		olderArgs := append(append([]any{}, args...), boundary)
		older := int64(0)
		if wantRows {
			skip := max(0, offset-len(recent))
			take := need - max(offset, len(recent))
			var rows []Contact
			if err := tx.Where(olderWhere, olderArgs...).Order("id DESC").Offset(skip).Limit(take).Find(&rows).Error; err != nil {
				return err
			}
			page.Rows = append(page.Rows, rows...)
			if n, ok := pageTotal(skip, take, len(rows)); ok {
				page.Total, page.Exact = capCount(inWindow+n, countCap)
				return nil
			}
		}
		if !wantCount {
			page.Total, page.Exact = countCap, false
			return nil
		}
		q := "SELECT COUNT(*) FROM (SELECT 1 FROM contacts WHERE " + olderWhere + " LIMIT ?) AS capped"
		if err := tx.Raw(q, append(olderArgs, countCap+1-inWindow)...).Scan(&older).Error; err != nil {
			return err
		}
		page.Total, page.Exact = capCount(inWindow+older, countCap)
		return nil
	})
	if err != nil {
		return ContactPage{}, fmt.Errorf("models: search contacts: %w", err)
	}
	return page, nil
}
