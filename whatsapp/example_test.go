package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/heraldhq/herald/whatsapp"
)

// Sending one campaign message and reacting to the outcome.
func ExampleClient_Send() {
	client := whatsapp.NewClient(whatsapp.Config{
		BaseURL: "https://graph.facebook.com", APIVersion: "v23.0",
		Token: "…", PhoneNumberID: "1065…", WABAID: "1022…",
	})
	res, err := client.Send(context.Background(), whatsapp.Message{
		To:                    "5511987654321",
		BizOpaqueCallbackData: "msg=9001", // Herald's message id, echoed in status webhooks
		Template: &whatsapp.TemplateMessage{Name: "flash_sale", Language: "en_US", Components: []whatsapp.Component{
			{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.TextParam("Ana"), whatsapp.TextParam("30%")}},
			whatsapp.QuickReplyButton(0, "STOP|msg=9001"),
			whatsapp.URLButton(1, "Xy12ab"), // tracked-link code appended to the template URL
		}},
	})
	if err == nil {
		fmt.Println("accepted as", res.MessageID, "for", res.WAID)
		return
	}
	c := whatsapp.ClassifyError(err)
	switch c.Action {
	case whatsapp.ActionRetry:
		fmt.Println("retry in", c.Delay(0))
	case whatsapp.ActionUnknownOutcome:
		fmt.Println("may have been sent: wait for its status webhook, never resend")
	default:
		fmt.Println(c.Action, c.Reason)
	}
}

// A webhook endpoint: check the signature over the raw body, answer fast.
func ExampleParseWebhook() {
	const appSecret = "…"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/whatsapp", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil || !whatsapp.VerifySignature(body, r.Header.Get(whatsapp.SignatureHeader), appSecret) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Persist body first (Meta cannot resend lost webhooks), then parse.
		n, err := whatsapp.ParseWebhook(body)
		if err != nil {
			slog.Warn("unreadable webhook kept raw", "err", err)
			return // still 200: retrying would not make it readable
		}
		for _, s := range n.Statuses() {
			slog.Info("status", "wamid", s.ID, "status", s.Status.Status, "herald_id", s.BizOpaqueCallbackData, "code", s.ErrorCode())
		}
		for _, m := range n.Messages() {
			slog.Info("reply", "from", m.From, "to_message", m.ReplyToID(), "type", m.Type)
		}
	})
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}

func ExampleValidateTemplate() {
	issues := whatsapp.ValidateTemplate(whatsapp.TemplateDefinition{
		Name: "Flash Sale", Language: "en_US", Category: whatsapp.CategoryMarketing,
		Components: []whatsapp.TemplateComponent{{Type: whatsapp.TemplateBody, Text: "{{1}}, sale ends today", Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Ana"}}}}},
	})
	for _, is := range issues {
		fmt.Println(is)
	}
	// Output:
	// name: name may contain only lowercase letters, digits and underscores
	// components[0].text: body cannot start with a variable
}

func ExampleClassify() {
	c := whatsapp.Classify(131049)
	fmt.Println(c.Action, c.Backoff)
	fmt.Println(errors.Is(fmt.Errorf("send: %w", whatsapp.ErrOutcomeUnknown), whatsapp.ErrOutcomeUnknown))
	// Output:
	// retry_next_day 24h0m0s
	// true
}
