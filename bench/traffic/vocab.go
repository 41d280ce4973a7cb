package traffic

import "strings"

// The vocabulary: per language, chat sentences by topic and direction, written the way
// customers of small online shops and their support teams write. Slots in sentences:
// {o} order number, {p} product, {d} day, {s} size, {$} price, {t} tracking number,
// {u} URL, {n} a small count. The benchmark's queries (Queries) depend on some of these
// words: "refund", "cancel", "warranty", "tracking number", ship*, "envío", "配送".

const (
	topicOrder = iota
	topicShipping
	topicRefund
	topicSize
	topicAppointment
	topicPrice
	topicGeneral
	topicWarranty // rare, English only: it is the rare query word
	numTopics
)

// topicWeights is the chance that a thread is about each topic (warranty excluded: it is
// sprinkled independently so that its rate does not depend on which threads are hot).
var topicWeights = [numTopics]float64{
	topicOrder: 0.22, topicShipping: 0.22, topicRefund: 0.06, topicSize: 0.13,
	topicAppointment: 0.08, topicPrice: 0.12, topicGeneral: 0.17,
}

type firstName struct {
	display, ascii string
	female         bool
}

type lastName struct {
	male, female, ascii string // female differs only where the language inflects (ru)
}

type rawLanguage struct {
	code   string
	weight float64 // share of threads in this language
	cjk    bool    // no spaces between sentences, family name first, shorter messages

	greetIn, greetOut, thanksIn, thanksOut, shortIn, shortOut []string
	complaint                                                 []string // long inbound messages are mostly these
	in, out                                                   [numTopics][]string

	days, products, prices []string
	firsts                 []firstName
	lasts                  []lastName
}

var emoji = []string{"👍", "🙏", "😊", "📦", "❤️", "🙂", "😅"}

var brands = []string{"Northwind Outfitters", "Casa Lumbre", "Blue Fern Studio", "Kiko Ceramics",
	"Maison Clair", "Rio Verde Store", "Hanami Goods", "Birch & Bloom", "Atelier Nord", "Lotus Home",
	"Sol y Sal", "Urban Kettle"}

// ln is a family name that neither inflects nor needs transliterating.
func ln(m string) lastName { return lastName{m, m, strings.ToLower(m)} }

var rawLanguages = []rawLanguage{
	{
		code: "en", weight: 0.60,
		greetIn:   []string{"Hi!", "Hello,", "Hey!", "Hi there,", "Good morning!", "Hello team,", "Hey there!", "Hi,"},
		greetOut:  []string{"Hi!", "Hello,", "Hi there!", "Thanks for reaching out!", "Thanks for your message."},
		thanksIn:  []string{"Thanks!", "Thank you so much!", "Thanks in advance.", "Appreciate it.", "Cheers"},
		thanksOut: []string{"Have a great day!", "Let us know if there's anything else.", "Thanks for your patience!", "Happy to help!"},
		shortIn:   []string{"ok", "Ok thanks", "thanks!", "great", "Perfect, thank you", "any update?", "yes please", "no", "Hello?", "sure", "thx", "👍"},
		shortOut:  []string{"You're welcome!", "Sure!", "Done ✅", "Of course!", "On it!", "No problem."},
		complaint: []string{
			"This is honestly the third time I'm writing about this and nobody has given me a straight answer.",
			"I've been a customer for years and I've never had this kind of problem before.",
			"I called the number on the website twice and both times I was on hold for over half an hour.",
			"I really needed it for my sister's wedding this weekend, so now I have to find something else last minute.",
			"The box was completely crushed and the item inside was scratched.",
			"Your website says orders go out within 48 hours but it's been more than a week.",
			"I don't want store credit, I want my money back.",
			"If this isn't resolved by {d} I'll have to dispute the charge with my bank.",
			"I've attached photos of everything so you can see for yourself.",
			"Please just tell me what's going on, I'm not trying to be difficult.",
			"Nobody replied to my email either, and the chat on your site just closes after five minutes.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"Where is my order {o}?",
				"I placed order {o} on {d} and haven't heard anything since.",
				"Can you check the status of my order {o}?",
				"I want to cancel my order {o}, is that still possible?",
				"My order {o} has said processing for days now.",
				"Did my payment go through for {p}?",
				"I got a confirmation email but no order number.",
				"Can I change the address on order {o}?",
				"Can I add {p} to my order before it goes out?",
			},
			topicShipping: {
				"When will my package arrive?",
				"Do you ship to Canada?",
				"The tracking number isn't working.",
				"Can you send me the tracking number for order {o}?",
				"It says delivered but I never got it.",
				"How long does shipping take to Chicago?",
				"Is shipping free over {$}?",
				"My package has been stuck in customs for a week.",
				"The courier left a note but I wasn't home.",
				"Has my order shipped yet?",
			},
			topicRefund: {
				"I'd like a refund for {p}.",
				"I returned {p} two weeks ago and still no refund.",
				"How long does a refund take?",
				"Can I get a refund instead of store credit?",
				"Can I cancel and get a refund?",
				"The item arrived damaged, I want my money back.",
				"I was charged twice for order {o}.",
				"Please refund the delivery fee too, it arrived late.",
			},
			topicSize: {
				"Does {p} run true to size?",
				"I'm usually a {s}, which size should I get?",
				"Can I exchange it for a {s}?",
				"Do you have {p} in {s}?",
				"What are the measurements of the {s}?",
				"The {s} is too small, can I swap it?",
			},
			topicAppointment: {
				"Can I book an appointment for {d}?",
				"Do you have any slots {d} afternoon?",
				"I need to reschedule my appointment to {d}.",
				"What time do you open on {d}?",
				"I'd like to come by the showroom to try {p}.",
			},
			topicPrice: {
				"How much is {p}?",
				"Is {p} still on sale?",
				"Do you have a discount code?",
				"Why is the price different on the website?",
				"Can I get a better price if I buy {n}?",
				"Do you price match?",
			},
			topicGeneral: {
				"Is {p} available?",
				"Do you still have {p}?",
				"Is this still available?",
				"Can you tell me more about {p}?",
				"What material is {p} made of?",
				"Does {p} come in other colors?",
			},
			topicWarranty: {
				"Is {p} covered by the warranty?",
				"How long is the warranty on {p}?",
				"The warranty card was missing from the box.",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"Your order {o} is being packed and should leave our warehouse {d}.",
				"I just checked, order {o} was confirmed and paid.",
				"We can still cancel it if you like, just confirm here.",
				"I updated the address on your order.",
				"Could you send me the email you used for the order?",
				"Sorry for the wait, we had a backlog this week.",
			},
			topicShipping: {
				"Your order shipped {d}, the tracking number is {t}.",
				"Here is your tracking number: {t}. You can follow it at {u}",
				"Shipping usually takes 3 to 5 business days.",
				"We ship to most countries in Europe and North America.",
				"Shipping is free on orders over {$}.",
				"The shipment left our warehouse yesterday, it should arrive {d}.",
				"I opened a claim with the courier, we'll keep you posted.",
			},
			topicRefund: {
				"I've issued a refund of {$} to your card, it can take 5 to 10 days to show.",
				"Your refund for order {o} was processed today.",
				"We can offer a full refund or a replacement, whichever you prefer.",
				"Could you send a photo of the damage so we can process the refund?",
				"I'm sorry about that, the double charge will be reversed.",
				"Returns are free within 30 days.",
			},
			topicSize: {
				"It runs a bit small, we'd suggest going one size up.",
				"Yes, we have {p} in {s}, want me to reserve one?",
				"Exchanges are free, just send it back with the form in the box.",
				"Here is our size guide: {u}",
				"The {s} is back in stock {d}.",
			},
			topicAppointment: {
				"We have openings {d} at 10:30 and 15:00, which works for you?",
				"You're booked for {d} at 11:00, see you then!",
				"No problem, I moved your appointment to {d}.",
				"We're open 9 to 6 Monday to Saturday.",
			},
			topicPrice: {
				"Right now {p} is {$}.",
				"The sale ends {d}, after that it goes back to full price.",
				"Use WELCOME10 for 10% off your first order.",
				"If you buy {n} or more we can do 15% off.",
			},
			topicGeneral: {
				"Yes, {p} is in stock!",
				"Sorry, {p} is sold out at the moment, we expect more {d}.",
				"It's 100% cotton and machine washable.",
				"It comes in black, navy and olive.",
				"Let me check with the warehouse and get back to you.",
			},
			topicWarranty: {
				"All our products come with a two-year warranty, just keep the receipt.",
				"That's covered by the warranty, we'll send a replacement.",
			},
		},
		days:     []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "tomorrow", "next week"},
		products: []string{"the blue jacket", "the white hoodie", "the black dress", "the leather backpack", "the linen shirt", "the wool scarf", "the ceramic mug set"},
		prices:   []string{"$19.99", "$24.90", "$35", "$49.90", "$59", "$79.99", "$120", "$149"},
		firsts: []firstName{{"James", "james", false}, {"Emily", "emily", true}, {"Michael", "michael", false},
			{"Sarah", "sarah", true}, {"David", "david", false}, {"Jessica", "jessica", true}, {"Chris", "chris", false},
			{"Ashley", "ashley", true}, {"Daniel", "daniel", false}, {"Olivia", "olivia", true}, {"Ryan", "ryan", false},
			{"Megan", "megan", true}},
		lasts: []lastName{ln("Smith"), ln("Johnson"), ln("Brown"), ln("Miller"), ln("Davis"), ln("Wilson"),
			ln("Taylor"), ln("Clark"), ln("Walker"), ln("Young"), ln("Nguyen"), ln("Patel")},
	},
	{
		code: "es", weight: 0.05,
		greetIn:   []string{"Hola,", "¡Hola!", "Buenas,", "Buenos días,", "Hola, ¿qué tal?"},
		greetOut:  []string{"¡Hola!", "Hola,", "¡Gracias por escribirnos!"},
		thanksIn:  []string{"¡Gracias!", "Muchas gracias.", "Gracias de antemano.", "Un saludo."},
		thanksOut: []string{"¡Que tengas un buen día!", "Cualquier cosa, aquí estamos.", "¡Gracias por tu paciencia!"},
		shortIn:   []string{"ok", "vale", "gracias!", "perfecto", "¿alguna novedad?", "sí, por favor", "👍", "hola?"},
		shortOut:  []string{"¡De nada!", "¡Claro!", "Hecho ✅", "¡Por supuesto!"},
		complaint: []string{
			"Es la tercera vez que escribo y nadie me da una respuesta clara.",
			"Llevo años comprando aquí y nunca me había pasado algo así.",
			"He llamado dos veces al teléfono de la web y nadie contesta.",
			"La caja llegó totalmente aplastada y el producto está rayado.",
			"Si no se soluciona antes del {d} tendré que reclamar al banco.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"¿Dónde está mi pedido {o}?",
				"Hice el pedido {o} el {d} y todavía no sé nada.",
				"¿Me podéis decir el estado del pedido {o}?",
				"Quiero cancelar el pedido {o}, ¿todavía se puede?",
				"¿Puedo cambiar la dirección de entrega del pedido?",
			},
			topicShipping: {
				"¿Cuánto tarda el envío a Madrid?",
				"¿Hacéis envío a México?",
				"El número de seguimiento no funciona.",
				"Pone que está entregado pero no me ha llegado nada.",
				"¿El envío es gratis?",
			},
			topicRefund: {
				"Quiero que me devuelvan el dinero, {p} llegó rota.",
				"Devolví {p} hace dos semanas y todavía no tengo el reembolso.",
				"¿Cuánto tarda el reembolso?",
				"Me han cobrado dos veces el pedido {o}.",
			},
			topicSize: {
				"¿La talla es normal o pequeña?",
				"Normalmente uso una {s}, ¿cuál me recomiendas?",
				"¿Tenéis {p} en talla {s}?",
				"¿Puedo cambiarlo por una {s}?",
			},
			topicAppointment: {
				"¿Puedo pedir cita para el {d}?",
				"¿Tenéis hueco el {d} por la tarde?",
				"Necesito cambiar mi cita al {d}.",
			},
			topicPrice: {
				"¿Cuánto cuesta {p}?",
				"¿Sigue en oferta {p}?",
				"¿Tenéis algún código de descuento?",
			},
			topicGeneral: {
				"¿Tenéis {p} disponible?",
				"¿Sigue disponible?",
				"¿De qué material es?",
				"¿Viene en otros colores?",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"Tu pedido {o} está en preparación y saldrá el {d}.",
				"Acabo de revisarlo: el pedido {o} está confirmado y pagado.",
				"Ya hemos actualizado la dirección de tu pedido.",
				"¿Nos puedes pasar el correo con el que hiciste la compra?",
			},
			topicShipping: {
				"Tu pedido salió el {d}, el número de seguimiento es {t}.",
				"El envío suele tardar de 3 a 5 días hábiles.",
				"El envío es gratis a partir de {$}.",
				"Hemos abierto una incidencia con la empresa de transporte.",
			},
			topicRefund: {
				"Te hemos hecho un reembolso de {$}, puede tardar de 5 a 10 días en aparecer.",
				"Podemos ofrecerte un reembolso completo o un cambio, como prefieras.",
				"¿Nos mandas una foto del daño para tramitar el reembolso?",
			},
			topicSize: {
				"Talla un poco pequeño, te recomendamos una talla más.",
				"Sí, tenemos {p} en {s}, ¿te la reservo?",
				"Los cambios son gratis dentro de 30 días.",
			},
			topicAppointment: {
				"Tenemos hueco el {d} a las 10:30 y a las 17:00, ¿cuál te va mejor?",
				"Listo, tienes cita el {d} a las 11:00.",
				"Abrimos de lunes a sábado de 10 a 20 h.",
			},
			topicPrice: {
				"Ahora mismo {p} cuesta {$}.",
				"La oferta termina el {d}.",
				"Con el código HOLA10 tienes un 10 % de descuento en tu primer pedido.",
			},
			topicGeneral: {
				"¡Sí, {p} está en stock!",
				"Lo siento, {p} está agotada, esperamos reponer el {d}.",
				"Déjame consultarlo con el almacén y te digo algo.",
			},
		},
		days:     []string{"lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		products: []string{"la chaqueta azul", "la sudadera gris", "la falda negra", "la mochila de cuero", "la camisa de lino"},
		prices:   []string{"19,99 €", "24,90 €", "35 €", "49,90 €", "59 €", "79,99 €"},
		firsts: []firstName{{"María", "maria", true}, {"José", "jose", false}, {"Lucía", "lucia", true},
			{"Javier", "javier", false}, {"Carmen", "carmen", true}, {"Alejandro", "alejandro", false},
			{"Sofía", "sofia", true}, {"Diego", "diego", false}},
		lasts: []lastName{{"García", "García", "garcia"}, {"Martínez", "Martínez", "martinez"},
			{"López", "López", "lopez"}, {"Sánchez", "Sánchez", "sanchez"}, {"Rodríguez", "Rodríguez", "rodriguez"},
			{"Pérez", "Pérez", "perez"}, {"Gómez", "Gómez", "gomez"}, {"Fernández", "Fernández", "fernandez"}},
	},
	{
		code: "de", weight: 0.05,
		greetIn:   []string{"Hallo,", "Hi,", "Guten Tag,", "Moin,", "Hallo zusammen,"},
		greetOut:  []string{"Hallo!", "Hi,", "Danke für deine Nachricht!"},
		thanksIn:  []string{"Danke!", "Vielen Dank!", "Danke im Voraus.", "LG"},
		thanksOut: []string{"Schönen Tag noch!", "Melde dich gern, wenn noch etwas ist.", "Danke für deine Geduld!"},
		shortIn:   []string{"ok", "danke!", "super", "passt", "gibt's was Neues?", "ja bitte", "👍", "hallo?"},
		shortOut:  []string{"Gern geschehen!", "Klar!", "Erledigt ✅", "Sehr gerne!"},
		complaint: []string{
			"Ich schreibe jetzt schon zum dritten Mal und niemand gibt mir eine klare Antwort.",
			"Ich bin seit Jahren Kundin und so etwas ist mir noch nie passiert.",
			"Ich habe zweimal bei der Hotline angerufen und jedes Mal eine halbe Stunde gewartet.",
			"Der Karton war völlig zerdrückt und der Artikel zerkratzt.",
			"Wenn das bis {d} nicht geklärt ist, lasse ich die Zahlung über meine Bank zurückbuchen.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"Wo bleibt meine Bestellung {o}?",
				"Ich habe am {d} bestellt ({o}) und seitdem nichts mehr gehört.",
				"Könnt ihr bitte den Status von Bestellung {o} prüfen?",
				"Ich möchte die Bestellung {o} stornieren, geht das noch?",
				"Kann ich die Lieferadresse noch ändern?",
			},
			topicShipping: {
				"Wann kommt mein Paket an?",
				"Liefert ihr auch in die Schweiz?",
				"Die Sendungsnummer funktioniert nicht.",
				"Laut Sendungsverfolgung zugestellt, aber hier ist nichts angekommen.",
				"Ist der Versand kostenlos?",
			},
			topicRefund: {
				"Ich hätte gerne mein Geld für {p} zurück.",
				"Ich habe {p} vor zwei Wochen zurückgeschickt und noch keine Erstattung bekommen.",
				"Wie lange dauert die Rückerstattung?",
				"Mir wurde die Bestellung {o} doppelt abgebucht.",
			},
			topicSize: {
				"Fällt die Größe normal aus?",
				"Ich trage normalerweise {s}, welche Größe empfehlt ihr?",
				"Habt ihr {p} in {s}?",
				"Kann ich es gegen {s} umtauschen?",
			},
			topicAppointment: {
				"Kann ich für {d} einen Termin bekommen?",
				"Habt ihr am {d} nachmittags noch was frei?",
				"Ich muss meinen Termin auf {d} verschieben.",
			},
			topicPrice: {
				"Was kostet {p}?",
				"Ist {p} noch im Angebot?",
				"Gibt es einen Rabattcode?",
			},
			topicGeneral: {
				"Ist {p} noch verfügbar?",
				"Gibt es das noch?",
				"Aus welchem Material ist {p}?",
				"Gibt es {p} auch in anderen Farben?",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"Deine Bestellung {o} wird gerade verpackt und geht am {d} raus.",
				"Ich habe nachgesehen: Bestellung {o} ist bestätigt und bezahlt.",
				"Die Adresse ist jetzt aktualisiert.",
				"Kannst du mir die E-Mail-Adresse schicken, mit der du bestellt hast?",
			},
			topicShipping: {
				"Dein Paket wurde am {d} verschickt, die Sendungsnummer ist {t}.",
				"Der Versand dauert meistens 2 bis 4 Werktage.",
				"Ab {$} ist der Versand kostenlos.",
				"Wir haben einen Nachforschungsauftrag beim Paketdienst gestellt.",
			},
			topicRefund: {
				"Wir haben dir {$} erstattet, es kann 5 bis 10 Tage dauern, bis es auf dem Konto ist.",
				"Wir können dir eine volle Erstattung oder einen Umtausch anbieten.",
				"Schick uns bitte ein Foto vom Schaden, dann erstatten wir den Betrag.",
			},
			topicSize: {
				"Es fällt etwas klein aus, nimm lieber eine Größe größer.",
				"Ja, {p} haben wir in {s}, soll ich dir eins zurücklegen?",
				"Der Umtausch ist innerhalb von 30 Tagen kostenlos.",
			},
			topicAppointment: {
				"Am {d} hätten wir 10:30 oder 15:00 Uhr frei, was passt dir besser?",
				"Du bist für {d} um 11 Uhr eingetragen, bis dann!",
				"Wir haben Montag bis Samstag von 9 bis 18 Uhr geöffnet.",
			},
			topicPrice: {
				"Im Moment kostet {p} {$}.",
				"Das Angebot läuft bis {d}.",
				"Mit dem Code HALLO10 bekommst du 10 % auf deine erste Bestellung.",
			},
			topicGeneral: {
				"Ja, {p} ist auf Lager!",
				"Leider ist {p} gerade ausverkauft, Nachschub kommt am {d}.",
				"Ich frage kurz im Lager nach und melde mich.",
			},
		},
		days:     []string{"Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		products: []string{"die blaue Jacke", "die weiße Bluse", "das schwarze Kleid", "die Ledertasche", "das Leinenhemd"},
		prices:   []string{"19,99 €", "24,90 €", "35 €", "49,90 €", "59 €", "79,99 €"},
		firsts: []firstName{{"Jürgen", "juergen", false}, {"Anna", "anna", true}, {"Lukas", "lukas", false},
			{"Sophie", "sophie", true}, {"Felix", "felix", false}, {"Lena", "lena", true}, {"Maximilian", "max", false},
			{"Hannah", "hannah", true}},
		lasts: []lastName{{"Müller", "Müller", "mueller"}, ln("Schmidt"), ln("Schneider"), ln("Fischer"),
			ln("Weber"), ln("Becker"), ln("Wagner"), ln("Hoffmann")},
	},
	{
		code: "fr", weight: 0.05,
		greetIn:   []string{"Bonjour,", "Salut,", "Bonsoir,", "Bonjour à tous,"},
		greetOut:  []string{"Bonjour !", "Salut,", "Merci pour votre message !"},
		thanksIn:  []string{"Merci !", "Merci beaucoup.", "Merci d'avance.", "Bonne journée."},
		thanksOut: []string{"Bonne journée !", "N'hésitez pas si besoin.", "Merci pour votre patience !"},
		shortIn:   []string{"ok", "merci !", "parfait", "des nouvelles ?", "oui svp", "👍", "allô ?"},
		shortOut:  []string{"Avec plaisir !", "Bien sûr !", "C'est fait ✅", "Pas de souci !"},
		complaint: []string{
			"C'est la troisième fois que j'écris et personne ne me répond clairement.",
			"Je suis cliente depuis des années et ça ne m'était jamais arrivé.",
			"J'ai appelé deux fois le service client et j'ai attendu plus d'une demi-heure.",
			"Le carton était complètement écrasé et l'article est rayé.",
			"Si ce n'est pas réglé avant {d}, je ferai opposition auprès de ma banque.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"Où en est ma commande {o} ?",
				"J'ai passé la commande {o} {d} et je n'ai aucune nouvelle.",
				"Pouvez-vous vérifier le statut de ma commande {o} ?",
				"Je voudrais annuler la commande {o}, c'est encore possible ?",
				"Est-ce que je peux changer l'adresse de livraison ?",
			},
			topicShipping: {
				"Quand est-ce que mon colis va arriver ?",
				"Vous livrez en Belgique ?",
				"Le numéro de suivi ne fonctionne pas.",
				"C'est marqué livré mais je n'ai rien reçu.",
				"La livraison est gratuite ?",
			},
			topicRefund: {
				"Je voudrais être remboursée pour {p}.",
				"J'ai renvoyé {p} il y a deux semaines et toujours pas de remboursement.",
				"Combien de temps prend le remboursement ?",
				"J'ai été débité deux fois pour la commande {o}.",
			},
			topicSize: {
				"Est-ce que ça taille normalement ?",
				"Je fais du {s} d'habitude, quelle taille me conseillez-vous ?",
				"Vous avez {p} en {s} ?",
				"Je peux l'échanger contre un {s} ?",
			},
			topicAppointment: {
				"Est-ce que je peux prendre rendez-vous {d} ?",
				"Vous avez un créneau {d} après-midi ?",
				"Je dois décaler mon rendez-vous à {d}.",
			},
			topicPrice: {
				"Combien coûte {p} ?",
				"Est-ce que {p} est toujours en promo ?",
				"Vous avez un code promo ?",
			},
			topicGeneral: {
				"Est-ce que {p} est disponible ?",
				"C'est toujours disponible ?",
				"Quelle est la matière de {p} ?",
				"Est-ce que {p} existe en d'autres couleurs ?",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"Votre commande {o} est en cours de préparation et partira {d}.",
				"Je viens de vérifier : la commande {o} est confirmée et payée.",
				"L'adresse de livraison a bien été mise à jour.",
				"Pouvez-vous m'envoyer l'e-mail utilisé pour la commande ?",
			},
			topicShipping: {
				"Votre colis est parti {d}, le numéro de suivi est {t}.",
				"La livraison prend en général 3 à 5 jours ouvrés.",
				"La livraison est offerte dès {$} d'achat.",
				"Nous avons ouvert une réclamation auprès du transporteur.",
			},
			topicRefund: {
				"Nous vous avons remboursé {$}, cela peut prendre 5 à 10 jours.",
				"Nous pouvons vous proposer un remboursement complet ou un échange.",
				"Pouvez-vous nous envoyer une photo du défaut pour lancer le remboursement ?",
			},
			topicSize: {
				"Ça taille un peu petit, prenez une taille au-dessus.",
				"Oui, nous avons {p} en {s}, je vous la mets de côté ?",
				"L'échange est gratuit sous 30 jours.",
			},
			topicAppointment: {
				"Nous avons des créneaux {d} à 10h30 et 15h, lequel vous convient ?",
				"C'est noté pour {d} à 11h, à bientôt !",
				"Nous sommes ouverts du lundi au samedi de 10h à 19h.",
			},
			topicPrice: {
				"En ce moment, {p} est à {$}.",
				"Les soldes se terminent {d}.",
				"Avec le code BIENVENUE10 vous avez 10 % sur votre première commande.",
			},
			topicGeneral: {
				"Oui, {p} est en stock !",
				"Désolé, {p} est en rupture, retour prévu {d}.",
				"Je vérifie avec l'entrepôt et je reviens vers vous.",
			},
		},
		days:     []string{"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		products: []string{"la veste bleue", "la robe noire", "la chemise en lin", "la sacoche en cuir", "la paire de baskets blanches"},
		prices:   []string{"19,99 €", "24,90 €", "35 €", "49,90 €", "59 €", "79,99 €"},
		firsts: []firstName{{"Chloé", "chloe", true}, {"Lucas", "lucas", false}, {"Léa", "lea", true},
			{"Hugo", "hugo", false}, {"Camille", "camille", true}, {"Théo", "theo", false}, {"Manon", "manon", true},
			{"Louis", "louis", false}},
		lasts: []lastName{ln("Martin"), ln("Bernard"), ln("Dubois"), ln("Thomas"), ln("Robert"), ln("Petit"),
			ln("Durand"), {"Lefèvre", "Lefèvre", "lefevre"}},
	},
	{
		code: "pt", weight: 0.05,
		greetIn:   []string{"Oi,", "Olá,", "Bom dia,", "Boa tarde,", "Oi, tudo bem?"},
		greetOut:  []string{"Olá!", "Oi,", "Obrigado pelo contato!"},
		thanksIn:  []string{"Obrigada!", "Muito obrigado!", "Desde já agradeço.", "Abraço."},
		thanksOut: []string{"Tenha um ótimo dia!", "Qualquer dúvida, é só chamar.", "Obrigado pela paciência!"},
		shortIn:   []string{"ok", "blz", "obrigada!", "perfeito", "alguma novidade?", "sim, por favor", "👍", "oi?"},
		shortOut:  []string{"Por nada!", "Claro!", "Feito ✅", "Imagina!"},
		complaint: []string{
			"É a terceira vez que escrevo e ninguém me dá uma resposta clara.",
			"Sou cliente há anos e nunca tinha acontecido isso.",
			"Liguei duas vezes no SAC e fiquei mais de meia hora esperando.",
			"A caixa chegou toda amassada e o produto arranhado.",
			"Se não resolverem até a {d}, vou abrir reclamação no Reclame Aqui.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"Cadê meu pedido {o}?",
				"Fiz o pedido {o} na {d} e até agora nada.",
				"Vocês podem verificar o status do pedido {o}?",
				"Quero cancelar o pedido {o}, ainda dá?",
				"Posso mudar o endereço de entrega?",
			},
			topicShipping: {
				"Quando meu pacote chega?",
				"Vocês entregam em Portugal?",
				"O código de rastreio não funciona.",
				"Diz que foi entregue mas não recebi nada.",
				"O frete é grátis?",
			},
			topicRefund: {
				"Quero o reembolso da compra, {p} veio com defeito.",
				"Devolvi {p} faz duas semanas e nada do reembolso.",
				"Quanto tempo demora o estorno?",
				"Fui cobrada duas vezes pelo pedido {o}.",
			},
			topicSize: {
				"A forma é normal ou pequena?",
				"Eu uso {s}, qual tamanho você indica?",
				"Tem {p} no tamanho {s}?",
				"Posso trocar por um {s}?",
			},
			topicAppointment: {
				"Posso agendar um horário na {d}?",
				"Tem horário na {d} à tarde?",
				"Preciso remarcar meu horário para a {d}.",
			},
			topicPrice: {
				"Quanto custa {p}?",
				"Ainda está na promoção?",
				"Tem cupom de desconto?",
			},
			topicGeneral: {
				"Tem {p} disponível?",
				"Ainda tem?",
				"Qual é o material?",
				"Tem outras cores?",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"Seu pedido {o} está sendo separado e sai na {d}.",
				"Acabei de verificar: o pedido {o} está confirmado e pago.",
				"Já atualizamos o endereço do seu pedido.",
				"Pode me passar o e-mail usado na compra?",
			},
			topicShipping: {
				"Seu pedido foi enviado na {d}, o código de rastreio é {t}.",
				"A entrega leva de 3 a 7 dias úteis.",
				"O frete é grátis acima de {$}.",
				"Abrimos uma reclamação com a transportadora.",
			},
			topicRefund: {
				"Fizemos o estorno de {$}, pode levar até duas faturas para aparecer.",
				"Podemos oferecer reembolso total ou troca, como preferir.",
				"Pode mandar uma foto do defeito para liberarmos o reembolso?",
			},
			topicSize: {
				"A forma é um pouco pequena, sugerimos um tamanho acima.",
				"Sim, temos {p} no {s}, quer que eu separe?",
				"A troca é grátis em até 30 dias.",
			},
			topicAppointment: {
				"Temos horário na {d} às 10h30 e às 15h, qual prefere?",
				"Agendado para a {d} às 11h, até lá!",
				"Funcionamos de segunda a sábado, das 9h às 18h.",
			},
			topicPrice: {
				"No momento, {p} está por {$}.",
				"A promoção vai até a {d}.",
				"Com o cupom OLA10 você ganha 10% na primeira compra.",
			},
			topicGeneral: {
				"Sim, {p} está em estoque!",
				"Infelizmente {p} esgotou, a reposição chega na {d}.",
				"Vou confirmar com o estoque e já te retorno.",
			},
		},
		days:     []string{"segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira"},
		products: []string{"a jaqueta azul", "o tênis branco", "o vestido preto", "a mochila de couro", "a camisa de linho"},
		prices:   []string{"R$ 59,90", "R$ 89,90", "R$ 129,00", "R$ 149,90", "R$ 199,00", "R$ 249,90"},
		firsts: []firstName{{"João", "joao", false}, {"Ana", "ana", true}, {"Gabriel", "gabriel", false},
			{"Juliana", "juliana", true}, {"Pedro", "pedro", false}, {"Beatriz", "beatriz", true},
			{"Rafael", "rafael", false}, {"Larissa", "larissa", true}},
		lasts: []lastName{ln("Silva"), ln("Santos"), ln("Oliveira"), ln("Souza"), ln("Pereira"), ln("Costa"),
			ln("Rodrigues"), ln("Almeida")},
	},
	{
		code: "ja", weight: 0.05, cjk: true,
		greetIn:   []string{"こんにちは。", "すみません、", "お世話になっております。", "はじめまして。"},
		greetOut:  []string{"お問い合わせありがとうございます。", "こんにちは！", "ご連絡ありがとうございます。"},
		thanksIn:  []string{"よろしくお願いします。", "ありがとうございます！", "宜しくお願い致します。"},
		thanksOut: []string{"今後ともよろしくお願いいたします。", "他にご不明点があればお気軽にどうぞ。", "ご不便をおかけして申し訳ございません。"},
		shortIn:   []string{"はい", "ありがとうございます！", "了解です", "まだですか？", "お願いします", "👍", "承知しました"},
		shortOut:  []string{"どういたしまして！", "かしこまりました。", "対応しました✅"},
		complaint: []string{
			"問い合わせるのはこれで三回目ですが、まだはっきりした回答をいただけていません。",
			"何年も利用していますが、こんなことは初めてです。",
			"電話も二回かけましたが、30分以上待たされました。",
			"箱がつぶれていて、商品に傷がついていました。",
			"{d}までに解決しない場合はカード会社に連絡します。",
		},
		in: [numTopics][]string{
			topicOrder: {
				"注文{o}はいつ届きますか？",
				"{d}に注文{o}をしたのですが、まだ連絡がありません。",
				"注文{o}の状況を確認していただけますか？",
				"注文{o}をキャンセルしたいのですが、まだ間に合いますか？",
				"お届け先の住所を変更できますか？",
			},
			topicShipping: {
				"配送はいつ頃になりますか？",
				"海外への配送は可能ですか？",
				"追跡番号が反映されていません。",
				"配達済みになっていますが、届いていません。",
				"配送料は無料ですか？",
				"配送状況を確認できますか？",
			},
			topicRefund: {
				"{p}の返金をお願いします。",
				"2週間前に{p}を返品しましたが、まだ返金されていません。",
				"返金にはどのくらいかかりますか？",
				"注文{o}で二重に請求されています。",
			},
			topicSize: {
				"{p}のサイズ感はどうですか？",
				"普段は{s}なのですが、どのサイズがおすすめですか？",
				"{p}の{s}はありますか？",
				"{s}に交換できますか？",
			},
			topicAppointment: {
				"{d}に予約できますか？",
				"{d}の午後は空いていますか？",
				"予約を{d}に変更したいです。",
			},
			topicPrice: {
				"{p}はいくらですか？",
				"{p}はまだセール中ですか？",
				"クーポンはありますか？",
			},
			topicGeneral: {
				"{p}はまだありますか？",
				"在庫はありますか？",
				"{p}の素材は何ですか？",
				"{p}は他の色もありますか？",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"ご注文{o}は現在梱包中で、{d}に発送予定です。",
				"確認しました。ご注文{o}はお支払い済みです。",
				"お届け先の住所を変更いたしました。",
				"ご注文時のメールアドレスを教えていただけますか？",
			},
			topicShipping: {
				"ご注文{o}は{d}に発送しました。追跡番号は{t}です。",
				"配送には通常3〜5営業日かかります。",
				"{$}以上のご注文で配送料無料です。",
				"配送業者に調査を依頼しました。",
			},
			topicRefund: {
				"{$}を返金いたしました。反映まで5〜10日ほどかかります。",
				"全額返金または交換のどちらかをお選びいただけます。",
				"破損箇所の写真を送っていただけますか？",
			},
			topicSize: {
				"少し小さめなので、ワンサイズ上がおすすめです。",
				"{p}の{s}は在庫がございます。お取り置きしましょうか？",
				"30日以内なら交換無料です。",
			},
			topicAppointment: {
				"{d}は10時半と15時が空いております。ご都合はいかがですか？",
				"{d}の11時でご予約を承りました。",
				"営業時間は月曜から土曜の10時から19時です。",
			},
			topicPrice: {
				"{p}は現在{$}です。",
				"セールは{d}までです。",
				"初回のご注文はクーポンWELCOME10で10%オフになります。",
			},
			topicGeneral: {
				"{p}は在庫がございます！",
				"申し訳ございません、{p}は現在品切れです。{d}に再入荷予定です。",
				"倉庫に確認してご連絡いたします。",
			},
		},
		days:     []string{"月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "明日"},
		products: []string{"青いジャケット", "白いスニーカー", "黒いワンピース", "革のリュック", "リネンのシャツ"},
		prices:   []string{"2,980円", "4,980円", "6,600円", "9,800円", "12,000円"},
		firsts: []firstName{{"翔太", "shota", false}, {"さくら", "sakura", true}, {"健太", "kenta", false},
			{"陽菜", "hina", true}, {"大輝", "daiki", false}, {"美咲", "misaki", true}},
		lasts: []lastName{{"佐藤", "佐藤", "sato"}, {"鈴木", "鈴木", "suzuki"}, {"高橋", "高橋", "takahashi"},
			{"田中", "田中", "tanaka"}, {"伊藤", "伊藤", "ito"}, {"渡辺", "渡辺", "watanabe"}},
	},
	{
		code: "zh", weight: 0.05, cjk: true,
		greetIn:   []string{"你好，", "您好，", "在吗？", "亲，"},
		greetOut:  []string{"您好！", "亲，您好！", "感谢您的咨询！"},
		thanksIn:  []string{"谢谢！", "麻烦了。", "谢谢你们。"},
		thanksOut: []string{"祝您生活愉快！", "还有其他问题随时联系我们。", "感谢您的耐心等待！"},
		shortIn:   []string{"好的", "谢谢", "嗯嗯", "怎么样了？", "👍", "好"},
		shortOut:  []string{"不客气！", "好的，亲", "已处理✅"},
		complaint: []string{
			"这已经是我第三次咨询了，还是没有人给我一个明确的答复。",
			"我在你们家买了好几年，从来没遇到过这种情况。",
			"打了两次客服电话，每次都等了半个多小时。",
			"箱子完全被压坏了，商品也有划痕。",
			"如果{d}之前还解决不了，我就要投诉了。",
		},
		in: [numTopics][]string{
			topicOrder: {
				"我的订单{o}什么时候发货？",
				"我{d}下的订单{o}，到现在还没有消息。",
				"能帮我查一下订单{o}的状态吗？",
				"我想取消订单{o}，还来得及吗？",
				"可以修改收货地址吗？",
			},
			topicShipping: {
				"我的包裹什么时候能到？",
				"可以寄到香港吗？",
				"快递单号查不到信息。",
				"显示已签收，但我没收到。",
				"包邮吗？",
			},
			topicRefund: {
				"我想申请{p}的退款。",
				"两周前就退回了{p}，还没收到退款。",
				"退款需要多久？",
				"订单{o}被重复扣款了。",
			},
			topicSize: {
				"{p}尺码标准吗？",
				"我平时穿{s}，建议买哪个尺码？",
				"{p}有{s}码吗？",
				"可以换成{s}码吗？",
			},
			topicAppointment: {
				"{d}可以预约吗？",
				"{d}下午还有空位吗？",
				"我想把预约改到{d}。",
			},
			topicPrice: {
				"{p}多少钱？",
				"{p}还在打折吗？",
				"有优惠券吗？",
			},
			topicGeneral: {
				"{p}还有货吗？",
				"还有吗？",
				"{p}是什么材质的？",
				"{p}有其他颜色吗？",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"您的订单{o}正在打包，预计{d}发出。",
				"已经帮您查过了，订单{o}已确认并付款。",
				"收货地址已经帮您修改好了。",
				"请提供一下下单时用的邮箱。",
			},
			topicShipping: {
				"您的包裹{d}已发出，快递单号是{t}。",
				"一般3到5个工作日送达。",
				"满{$}包邮。",
				"我们已经联系快递公司核查了。",
			},
			topicRefund: {
				"已为您退款{$}，预计5到10个工作日到账。",
				"可以为您全额退款或者换货，您看哪种方便？",
				"麻烦发一下破损的照片，我们好给您办理退款。",
			},
			topicSize: {
				"这款偏小，建议拍大一码。",
				"{p}有{s}码的，需要帮您留一件吗？",
				"30天内可以免费换货。",
			},
			topicAppointment: {
				"{d}上午10点半和下午3点有空，您看哪个时间合适？",
				"已为您预约{d}上午11点，到时见！",
				"我们周一到周六上午10点到晚上7点营业。",
			},
			topicPrice: {
				"{p}现在售价{$}。",
				"活动到{d}结束。",
				"首单使用优惠码WELCOME10可以打九折。",
			},
			topicGeneral: {
				"{p}有现货！",
				"不好意思，{p}暂时缺货，预计{d}补货。",
				"我跟仓库确认一下再回复您。",
			},
		},
		days:     []string{"周一", "周二", "周三", "周四", "周五", "周六", "明天"},
		products: []string{"蓝色夹克", "白色运动鞋", "黑色连衣裙", "皮革双肩包", "亚麻衬衫"},
		prices:   []string{"¥129", "¥199", "¥299", "¥399", "¥599"},
		firsts: []firstName{{"伟", "wei", false}, {"芳", "fang", true}, {"静", "jing", true}, {"磊", "lei", false},
			{"婷", "ting", true}, {"浩", "hao", false}},
		lasts: []lastName{{"王", "王", "wang"}, {"李", "李", "li"}, {"张", "张", "zhang"}, {"刘", "刘", "liu"},
			{"陈", "陈", "chen"}, {"杨", "杨", "yang"}},
	},
	{
		code: "ru", weight: 0.05,
		greetIn:   []string{"Здравствуйте,", "Привет,", "Добрый день,", "Добрый вечер,"},
		greetOut:  []string{"Здравствуйте!", "Добрый день!", "Спасибо за обращение!"},
		thanksIn:  []string{"Спасибо!", "Заранее спасибо.", "Большое спасибо!"},
		thanksOut: []string{"Хорошего дня!", "Если будут вопросы — пишите.", "Спасибо за терпение!"},
		shortIn:   []string{"ок", "спасибо", "понятно", "есть новости?", "да, пожалуйста", "👍", "ау?"},
		shortOut:  []string{"Пожалуйста!", "Конечно!", "Готово ✅"},
		complaint: []string{
			"Пишу уже третий раз, и никто не может нормально ответить.",
			"Я ваш покупатель много лет, и такое впервые.",
			"Дважды звонила на горячую линию и каждый раз ждала больше получаса.",
			"Коробка пришла полностью смятой, а товар поцарапан.",
			"Если вопрос не решится в ближайшие дни, буду обращаться в банк.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"Где мой заказ {o}?",
				"Я оформила заказ {o} в {d}, и до сих пор никаких новостей.",
				"Можете проверить статус заказа {o}?",
				"Хочу отменить заказ {o}, ещё можно?",
				"Можно поменять адрес доставки?",
			},
			topicShipping: {
				"Когда придёт моя посылка?",
				"Вы доставляете в Казахстан?",
				"Трек-номер не отслеживается.",
				"Пишет, что доставлено, но я ничего не получил.",
				"Доставка бесплатная?",
			},
			topicRefund: {
				"Хочу вернуть деньги за заказ {o}.",
				"Я вернула товар две недели назад, а деньги так и не пришли.",
				"Сколько идёт возврат денег?",
				"С меня дважды списали оплату за заказ {o}.",
			},
			topicSize: {
				"Размер соответствует?",
				"Обычно ношу {s}, какой размер посоветуете?",
				"Есть {p} в размере {s}?",
				"Можно обменять на {s}?",
			},
			topicAppointment: {
				"Можно записаться на {d}?",
				"Есть свободное время в {d} после обеда?",
				"Мне нужно перенести запись на {d}.",
			},
			topicPrice: {
				"Сколько стоит {p}?",
				"Скидка ещё действует?",
				"Есть промокод?",
			},
			topicGeneral: {
				"А {p} ещё в наличии?",
				"Ещё актуально?",
				"Из какого материала?",
				"Есть другие цвета?",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"Ваш заказ {o} собирается и будет отправлен в {d}.",
				"Проверила: заказ {o} подтверждён и оплачен.",
				"Адрес доставки обновлён.",
				"Пришлите, пожалуйста, почту, на которую оформляли заказ.",
			},
			topicShipping: {
				"Ваш заказ отправлен в {d}, трек-номер {t}.",
				"Доставка обычно занимает 3–7 рабочих дней.",
				"Доставка бесплатная от {$}.",
				"Мы открыли запрос в службе доставки.",
			},
			topicRefund: {
				"Мы вернули вам {$}, деньги придут в течение 5–10 дней.",
				"Можем оформить полный возврат или обмен, как вам удобнее.",
				"Пришлите, пожалуйста, фото повреждения, чтобы мы оформили возврат.",
			},
			topicSize: {
				"Маломерит, советуем взять на размер больше.",
				"Да, {p} есть в размере {s}, отложить для вас?",
				"Обмен бесплатный в течение 30 дней.",
			},
			topicAppointment: {
				"В {d} свободно в 10:30 и в 15:00, как вам удобнее?",
				"Записали вас на {d} в 11:00, ждём!",
				"Мы работаем с понедельника по субботу с 10 до 19.",
			},
			topicPrice: {
				"Сейчас цена — {$}.",
				"Акция действует до конца недели.",
				"По промокоду WELCOME10 скидка 10% на первый заказ.",
			},
			topicGeneral: {
				"Да, есть в наличии!",
				"К сожалению, сейчас нет в наличии, ожидаем поставку в {d}.",
				"Уточню на складе и вернусь с ответом.",
			},
		},
		// Accusative: every use is "в {d}" or "на {d}".
		days:     []string{"понедельник", "вторник", "среду", "четверг", "пятницу", "субботу"},
		products: []string{"синяя куртка", "серая толстовка", "чёрное платье", "кожаный рюкзак", "льняная рубашка"},
		prices:   []string{"1 990 ₽", "2 990 ₽", "4 500 ₽", "6 990 ₽", "9 900 ₽"},
		firsts: []firstName{{"Алексей", "alexey", false}, {"Мария", "maria", true}, {"Дмитрий", "dmitry", false},
			{"Анна", "anna", true}, {"Сергей", "sergey", false}, {"Екатерина", "ekaterina", true},
			{"Иван", "ivan", false}, {"Ольга", "olga", true}},
		lasts: []lastName{{"Иванов", "Иванова", "ivanov"}, {"Смирнов", "Смирнова", "smirnov"},
			{"Кузнецов", "Кузнецова", "kuznetsov"}, {"Попов", "Попова", "popov"}, {"Волков", "Волкова", "volkov"},
			{"Соколов", "Соколова", "sokolov"}},
	},
	{
		code: "ar", weight: 0.05,
		greetIn:   []string{"مرحبا،", "السلام عليكم،", "صباح الخير،", "مساء الخير،"},
		greetOut:  []string{"أهلاً بك!", "وعليكم السلام،", "شكراً لتواصلك معنا!"},
		thanksIn:  []string{"شكراً!", "شكراً جزيلاً.", "شكراً مقدماً."},
		thanksOut: []string{"يومك سعيد!", "لا تتردد في التواصل معنا.", "شكراً لصبرك!"},
		shortIn:   []string{"تمام", "شكراً", "حسناً", "أي جديد؟", "نعم من فضلك", "👍"},
		shortOut:  []string{"العفو!", "أكيد!", "تم ✅"},
		complaint: []string{
			"هذه ثالث مرة أراسلكم ولم يعطني أحد إجابة واضحة.",
			"أنا عميل لديكم منذ سنوات ولم يحدث لي هذا من قبل.",
			"اتصلت بخدمة العملاء مرتين وانتظرت أكثر من نصف ساعة في كل مرة.",
			"وصل الصندوق مهروساً تماماً والمنتج مخدوش.",
			"إذا لم تُحل المشكلة قريباً سأتواصل مع البنك.",
		},
		in: [numTopics][]string{
			topicOrder: {
				"أين طلبي رقم {o}؟",
				"قدمت الطلب {o} يوم {d} ولم يصلني أي خبر.",
				"هل يمكنكم التحقق من حالة الطلب {o}؟",
				"أريد إلغاء الطلب {o}، هل ما زال ذلك ممكناً؟",
				"هل يمكنني تغيير عنوان التوصيل؟",
			},
			topicShipping: {
				"متى ستصل شحنتي؟",
				"هل توصلون إلى الكويت؟",
				"رقم التتبع لا يعمل.",
				"مكتوب أنه تم التسليم لكنني لم أستلم شيئاً.",
				"هل الشحن مجاني؟",
			},
			topicRefund: {
				"أريد استرداد المبلغ عن {p}.",
				"أرجعت {p} قبل أسبوعين ولم أسترد المبلغ بعد.",
				"كم يستغرق الاسترداد؟",
				"تم خصم المبلغ مرتين للطلب {o}.",
			},
			topicSize: {
				"هل المقاس مضبوط؟",
				"عادةً ألبس {s}، أي مقاس تنصحني؟",
				"هل يتوفر {p} بمقاس {s}؟",
				"هل يمكنني الاستبدال بمقاس {s}؟",
			},
			topicAppointment: {
				"هل يمكنني حجز موعد يوم {d}؟",
				"هل لديكم موعد متاح يوم {d} بعد الظهر؟",
				"أحتاج إلى تغيير موعدي إلى يوم {d}.",
			},
			topicPrice: {
				"كم سعر {p}؟",
				"هل ما زال العرض سارياً؟",
				"هل يوجد كود خصم؟",
			},
			topicGeneral: {
				"هل {p} متوفر؟",
				"هل ما زال متوفراً؟",
				"ما هي خامة {p}؟",
				"هل يتوفر بألوان أخرى؟",
			},
		},
		out: [numTopics][]string{
			topicOrder: {
				"طلبك {o} قيد التجهيز وسيتم شحنه يوم {d}.",
				"تحققت للتو: الطلب {o} مؤكد ومدفوع.",
				"تم تحديث عنوان التوصيل.",
				"هل يمكنك إرسال البريد الإلكتروني المستخدم في الطلب؟",
			},
			topicShipping: {
				"تم شحن طلبك يوم {d}، ورقم التتبع هو {t}.",
				"يستغرق التوصيل عادةً من 3 إلى 5 أيام عمل.",
				"الشحن مجاني للطلبات فوق {$}.",
				"فتحنا بلاغاً لدى شركة الشحن.",
			},
			topicRefund: {
				"تم رد {$} إلى بطاقتك، وقد يستغرق ظهوره من 5 إلى 10 أيام.",
				"يمكننا تقديم استرداد كامل أو استبدال، كما تفضل.",
				"هل يمكنك إرسال صورة للضرر حتى نتمكن من إتمام الاسترداد؟",
			},
			topicSize: {
				"المقاس صغير قليلاً، ننصح بمقاس أكبر.",
				"نعم، يتوفر {p} بمقاس {s}، هل أحجزه لك؟",
				"الاستبدال مجاني خلال 30 يوماً.",
			},
			topicAppointment: {
				"لدينا مواعيد يوم {d} الساعة 10:30 و3:00 مساءً، أيهما يناسبك؟",
				"تم حجز موعدك يوم {d} الساعة 11:00، بانتظارك!",
				"نعمل من السبت إلى الخميس من 10 صباحاً حتى 10 مساءً.",
			},
			topicPrice: {
				"سعر {p} حالياً {$}.",
				"ينتهي العرض يوم {d}.",
				"استخدم الكود WELCOME10 للحصول على خصم 10% على طلبك الأول.",
			},
			topicGeneral: {
				"نعم، {p} متوفر!",
				"عذراً، {p} غير متوفر حالياً، ونتوقع وصوله يوم {d}.",
				"سأتحقق من المستودع وأعود إليك.",
			},
		},
		days:     []string{"الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "السبت"},
		products: []string{"الجاكيت الأزرق", "الحذاء الرياضي الأبيض", "الفستان الأسود", "حقيبة الظهر الجلدية", "القميص الكتان"},
		prices:   []string{"99 ر.س", "149 ر.س", "199 ر.س", "299 ر.س", "450 ر.س"},
		firsts: []firstName{{"محمد", "mohammed", false}, {"فاطمة", "fatima", true}, {"أحمد", "ahmed", false},
			{"نور", "nour", true}, {"عمر", "omar", false}, {"ليلى", "layla", true}},
		lasts: []lastName{{"العلي", "العلي", "alali"}, {"الحسن", "الحسن", "alhassan"}, {"الخطيب", "الخطيب", "alkhatib"},
			{"السيد", "السيد", "elsayed"}, {"حداد", "حداد", "haddad"}, {"منصور", "منصور", "mansour"}},
	},
}

var sizes = []string{"XS", "S", "M", "L", "XL", "38", "40", "42"}
