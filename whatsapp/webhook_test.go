package whatsapp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"text":"Ol\u00e1"}}]}]}`)
	good := Sign(body, "s3cret")
	tests := []struct {
		name   string
		body   []byte
		header string
		secret string
		want   bool
	}{
		{"good", body, good, "s3cret", true},
		{"good with surrounding space", body, " " + good + " ", "s3cret", true},
		{"wrong secret", body, good, "other", false},
		{"body changed by one byte", append([]byte{' '}, body...), good, "s3cret", false},
		{"missing header", body, "", "s3cret", false},
		{"wrong prefix", body, "sha1=" + strings.TrimPrefix(good, "sha256="), "s3cret", false},
		{"no prefix", body, strings.TrimPrefix(good, "sha256="), "s3cret", false},
		{"not hex", body, "sha256=zz" + good[9:], "s3cret", false},
		{"truncated", body, good[:len(good)-2], "s3cret", false},
		{"empty secret never verifies", body, Sign(body, ""), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := VerifySignature(tt.body, tt.header, tt.secret); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode, token, expected string
		ok                    bool
	}{
		{"subscribe", "tok", "tok", true},
		{"subscribe", "bad", "tok", false},
		{"unsubscribe", "tok", "tok", false},
		{"subscribe", "", "", false},
		{"subscribe", "tok2", "tok", false},
	}
	for _, tt := range tests {
		got, ok := VerifyChallenge(tt.mode, tt.token, "1158201444", tt.expected)
		if ok != tt.ok || (ok && got != "1158201444") || (!ok && got != "") {
			t.Errorf("VerifyChallenge(%q,%q,%q) = %q,%v", tt.mode, tt.token, tt.expected, got, ok)
		}
	}
}

const statusWebhook = `{ "object": "whatsapp_business_account",
  "entry": [ { "id": "2000000001", "changes": [ { "field": "messages", "value": {
    "messaging_product": "whatsapp",
    "metadata": { "display_phone_number": "15550001111", "phone_number_id": "1065" },
    "statuses": [ { "id": "wamid.HBgM1", "status": "delivered", "timestamp": "1767225600",
      "recipient_id": "5511987654321", "biz_opaque_callback_data": "camp=42;rcpt=9001",
      "pricing": { "billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing" } },
      { "id": "wamid.HBgM2", "status": "failed", "timestamp": 1767225601, "recipient_id": "5511000000000",
      "errors": [ { "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
        "error_data": { "details": "Message Undeliverable." }, "href": "https://developers.facebook.com/" } ] } ] } } ] } ] }`

const inboundWebhook = `{"object":"whatsapp_business_account","entry":[{"id":"2000000001","changes":[{"field":"messages","value":{
  "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1065"},
  "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"},{"profile":{"name":"Bo"},"wa_id":"4915100000000"}],
  "messages":[
    {"from":"5511987654321","id":"wamid.IN1","timestamp":"1767225700","type":"button",
     "context":{"from":"15550001111","id":"wamid.HBgM1"},"button":{"payload":"STOP_PROMO|camp=42","text":"Stop promotions"}},
    {"from":"4915100000000","id":"wamid.IN2","timestamp":"1767225701","type":"interactive",
     "interactive":{"type":"button_reply","button_reply":{"id":"slot_am","title":"Morning"}}},
    {"from":"4915100000000","id":"wamid.IN3","timestamp":"1767225702","type":"interactive",
     "interactive":{"type":"list_reply","list_reply":{"id":"exp","title":"Express","description":"1-2 days"}}},
    {"from":"5511987654321","id":"wamid.IN4","timestamp":"1767225703","type":"text","text":{"body":"STOP"},
     "context":{"from":"15550001111","id":"wamid.HBgM1"}},
    {"from":"5511987654321","id":"wamid.IN5","timestamp":"1767225704","type":"image","image":{"id":"media1","mime_type":"image/jpeg"}}
  ]}}]}]}`

func TestParseWebhookStatuses(t *testing.T) {
	t.Parallel()
	n, err := ParseWebhook([]byte(statusWebhook))
	if err != nil {
		t.Fatal(err)
	}
	st := n.Statuses()
	if len(st) != 2 {
		t.Fatalf("statuses = %d", len(st))
	}
	d := st[0]
	if d.WABAID != "2000000001" || d.Metadata.PhoneNumberID != "1065" || d.ID != "wamid.HBgM1" || d.Status.Status != StatusDelivered ||
		d.BizOpaqueCallbackData != "camp=42;rcpt=9001" || d.Pricing == nil || d.Pricing.Category != "marketing" || d.Pricing.Type != "regular" ||
		!d.Time().Equal(time.Unix(1767225600, 0)) {
		t.Errorf("delivered status = %+v", d)
	}
	f := st[1]
	if f.Status.Status != StatusFailed || f.ErrorCode() != 131026 || f.Errors[0].ErrorData.Details != "Message Undeliverable." || f.Timestamp != "1767225601" {
		t.Errorf("failed status = %+v", f)
	}
	if Classify(f.ErrorCode()).Action != ActionSuppressContact {
		t.Errorf("failed status code not classified as suppress")
	}
}

func TestParseWebhookMessages(t *testing.T) {
	t.Parallel()
	n, err := ParseWebhook([]byte(inboundWebhook))
	if err != nil {
		t.Fatal(err)
	}
	ms := n.Messages()
	if len(ms) != 5 {
		t.Fatalf("messages = %d", len(ms))
	}
	if m := ms[0]; m.Type != "button" || m.Button.Payload != "STOP_PROMO|camp=42" || m.Button.Text != "Stop promotions" || m.ReplyToID() != "wamid.HBgM1" || m.ContactName != "Ana" {
		t.Errorf("button message = %+v", m)
	}
	if m := ms[1]; m.Interactive.Type != "button_reply" || m.Interactive.ButtonReply.ID != "slot_am" || m.ContactName != "Bo" || m.ReplyToID() != "" {
		t.Errorf("button_reply = %+v", m)
	}
	if m := ms[2]; m.Interactive.ListReply.ID != "exp" || m.Interactive.ListReply.Description != "1-2 days" {
		t.Errorf("list_reply = %+v", m)
	}
	if m := ms[3]; m.Text.Body != "STOP" || m.ReplyToID() != "wamid.HBgM1" {
		t.Errorf("text = %+v", m)
	}
	if m := ms[4]; m.Type != "image" || !strings.Contains(string(m.Raw), `"media1"`) {
		t.Errorf("image kept raw = %s", m.Raw)
	}
}

func TestParseWebhookOtherFields(t *testing.T) {
	t.Parallel()
	body := `{"object":"whatsapp_business_account","entry":[{"id":"2000000001","time":1767225800,"changes":[
	 {"field":"user_preferences","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1065"},
	   "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"}],
	   "user_preferences":[{"wa_id":"5511987654321","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1767225800}]}},
	 {"field":"message_template_status_update","value":{"event":"REJECTED","message_template_id":1234567890,"message_template_name":"flash_sale","message_template_language":"en_US","reason":"INVALID_FORMAT","other_info":{"title":"x","description":"body cannot end with a variable"}}},
	 {"field":"message_template_quality_update","value":{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":"77","message_template_name":"flash_sale","message_template_language":"en_US"}},
	 {"field":"template_category_update","value":{"message_template_id":77,"message_template_name":"flash_sale","message_template_language":"en_US","previous_category":"UTILITY","new_category":"MARKETING"}},
	 {"field":"phone_number_quality_update","value":{"display_phone_number":"15550001111","event":"THROUGHPUT_UPGRADE","current_limit":"TIER_2K","max_daily_conversations_per_business":"TIER_2K"}},
	 {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1065"},
	   "errors":[{"code":130429,"title":"Rate limit hit","message":"Rate limit hit","error_data":{"details":"too many"}}]}}
	]}]}`
	n, err := ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	up := n.UserPreferences()
	if len(up) != 1 || up[0].Value != "stop" || up[0].WAID != "5511987654321" || up[0].Category != "marketing_messages" || up[0].Timestamp.Time().IsZero() {
		t.Errorf("user preferences = %+v", up)
	}
	te := n.TemplateEvents()
	if len(te) != 3 {
		t.Fatalf("template events = %d", len(te))
	}
	if e := te[0]; e.Field != FieldMessageTemplateStatusUpdate || e.Event != StatusRejected || e.MessageTemplateID != "1234567890" || e.Reason != "INVALID_FORMAT" || e.OtherInfo.Description == "" {
		t.Errorf("status update = %+v", e)
	}
	if e := te[1]; e.NewQualityScore != "YELLOW" || e.MessageTemplateID != "77" {
		t.Errorf("quality update = %+v", e)
	}
	if e := te[2]; e.NewCategory != CategoryMarketing || e.PreviousCategory != CategoryUtility {
		t.Errorf("category update = %+v", e)
	}
	pq := n.PhoneQualityEvents()
	if len(pq) != 1 || pq[0].Event != "THROUGHPUT_UPGRADE" || pq[0].CurrentLimit != "TIER_2K" {
		t.Errorf("phone quality = %+v", pq)
	}
	se := n.SystemErrors()
	if len(se) != 1 || se[0].Code != 130429 {
		t.Errorf("system errors = %+v", se)
	}
}

func TestParseWebhookRejects(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":       `{`,
		"wrong object":   `{"object":"page","entry":[]}`,
		"no object":      `{}`,
		"array":          `[]`,
		"bad code type":  `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"errors":[{"code":"abc"}]}}]}]}`,
		"bad entry type": `{"object":"whatsapp_business_account","entry":{}}`,
		"NaN code":       `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"errors":[{"code":"NaN"}]}}]}]}`,
		"huge code":      `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"errors":[{"code":1e300}]}}]}]}`,
	} {
		if _, err := ParseWebhook([]byte(body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseWebhook([]byte(`{"object":"page"}`)); !errors.Is(err, ErrNotWhatsAppWebhook) {
		t.Errorf("wrong object error = %v", err)
	}
	var nilN *Notification
	if len(nilN.Statuses()) != 0 || len(nilN.Messages()) != 0 {
		t.Errorf("accessors on nil notification")
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, seed := range []string{
		statusWebhook, inboundWebhook, `{}`, `null`, `[]`, `{"object":"whatsapp_business_account"}`,
		`{"object":"whatsapp_business_account","entry":[{"id":1,"time":"x","changes":[{"field":"messages","value":{"statuses":[{"timestamp":1e400}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"type":"button","button":null,"context":{}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"message_template_id":-0.5e3,"errors":[{"code":1.5}]}}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseWebhook(body)
		if err != nil {
			if n != nil {
				t.Fatalf("notification returned with error %v", err)
			}
			return
		}
		// Accessors must not panic on any parsed shape.
		for _, s := range n.Statuses() {
			_ = s.Time()
			_ = s.ErrorCode()
		}
		for _, m := range n.Messages() {
			_ = m.ReplyToID()
			_ = m.Time()
		}
		_ = n.UserPreferences()
		_ = n.TemplateEvents()
		_ = n.PhoneQualityEvents()
		_ = n.SystemErrors()
	})
}

func TestStatusRankIsMonotonic(t *testing.T) {
	t.Parallel()
	order := []string{"bogus", StatusSent, StatusDelivered, StatusRead, StatusFailed}
	for i := 1; i < len(order); i++ {
		if StatusRank(order[i-1]) >= StatusRank(order[i]) {
			t.Errorf("rank(%s) >= rank(%s)", order[i-1], order[i])
		}
	}
	if StatusRank(StatusPlayed) != StatusRank(StatusRead) {
		t.Errorf("played should rank like read")
	}
}
