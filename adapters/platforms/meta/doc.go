// Package meta is what Meta's three messaging products (Messenger, Instagram, WhatsApp) share:
// the Graph webhook handshake, the X-Hub-Signature-256 check, Meta's timestamps and loose JSON
// scalars, and the Messenger Platform "messaging" dialect that Messenger and Instagram both
// speak. Each product's adapter (adapters/platforms/<name>) embeds Signed and adds its Parse.
//
// How Messenger and Instagram messaging elements become platform items (WhatsApp: see
// adapters/platforms/whatsapp):
//
//	message (text, attachments, reply_to.mid)   PlatformMessage, Inbound
//	message.is_echo, or sender = the account     PlatformMessage, Outbound; prospect = recipient
//	message.quick_reply                          PlatformMessage: the text is what the person sent
//	message.reply_to.story / story_mention       attachment of type story
//	message.is_deleted (unsend)                  PlatformDelete
//	message.is_unsupported                       PlatformOther "unsupported_message"
//	message_edit                                 PlatformEdit
//	read.watermark / read.mid (Instagram)        PlatformSeen (Instagram: at the receipt's time)
//	delivery.mids                                PlatformDelivered (bare watermark: PlatformOther "delivery")
//	postback with mid and title                  PlatformMessage, Inbound: the tapped title
//	postback without them                        PlatformOther "postback"
//	reaction                                     PlatformOther "reaction"
//	optin, referral, handover, …                 PlatformOther under the element's event key
//	entry[].standby[]                            read as entry[].messaging[]
//	entry[].changes[]                            PlatformOther under the change's field
//	another account's element                    PlatformOther "foreign_account"
//	an element that does not decode              PlatformOther "malformed"
//
// Attachment types: image, video, audio, file as sent; sticker (or an image with a
// sticker_id); fallback, share, template, reel, ig_reel, ig_post → share; story_mention →
// story; anything else → file. Every item that has a Raw carries its own element's JSON.
//
// A body that is not the product's webhook (not JSON, another "object", no "entry") is an
// error, answered 400. Anything odd inside is recorded raw, so one bad element neither loses
// the rest of a batch nor makes Meta retry it for 36 hours.
package meta
