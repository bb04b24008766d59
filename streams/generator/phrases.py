"""What customers, agents and the bot say, per intent and language (the intents of DESIGN §5).

Each customer phrase carries the tag the default rule pack gives it (``None`` for small talk), so
the generator's ground truth knows which messages are product or price inquiries, complaints and
so on without running the pipeline's tagger."""

from __future__ import annotations

INTENTS: dict[str, str | None] = {  # intent -> the tag the default rule pack gives it
    "price": "price_inquiry", "discount": "price_inquiry", "shipping": "shipping", "order_status": "shipping",
    "returns": "returns", "complaint": "complaint", "size": "size", "quote": "quote_request", "store": "store_address",
    "thanks": None, "greeting": None,
}

CUSTOMER: dict[str, dict[str, tuple[str, ...]]] = {
    "price": {
        "zh-Hant": ("呢件外套幾多錢？", "請問這款多少錢？", "價錢係幾多？", "黑色那款售價多少？"),
        "zh-Hans": ("这个多少钱？", "请问价格是多少？", "这款现在什么价格？"),
        "ja": ("この商品はいくらですか？", "値段を教えてください", "価格はいくらになりますか？"),
        "en": ("How much is this jacket?", "What's the price for the blue one?", "price please"),
        "es": ("¿Cuánto cuesta esta chaqueta?", "¿Qué precio tiene el modelo azul?", "precio por favor"),
        "pt": ("Quanto custa essa jaqueta?", "Qual o preço do modelo azul?", "quanto fica com o frete?"),
    },
    "discount": {
        "zh-Hant": ("有折扣嗎？", "有冇優惠？", "會員有折扣嗎？", "而家有冇特價？"),
        "zh-Hans": ("有折扣吗？", "现在有优惠吗？", "会员打折吗？"),
        "ja": ("割引はありますか？", "クーポンで割引できますか？", "もう少し安くなりませんか？"),
        "en": ("Any discount?", "Do you have a discount code?", "is there a discount for members?"),
        "es": ("¿Tienen algún descuento?", "¿Hay cupón de descuento?", "¿hay oferta esta semana?"),
        "pt": ("Tem desconto?", "Tem cupom de desconto?", "tem promoção essa semana?"),
    },
    "shipping": {
        "zh-Hant": ("運費多少？", "寄送到台中要幾天？", "可以順豐到付嗎？"),
        "zh-Hans": ("运费多少？", "几天能到货？", "可以发顺丰吗？"),
        "ja": ("送料はいくらですか？", "発送はいつになりますか？"),
        "en": ("How much is shipping?", "When will it ship?", "do you deliver to Mumbai?"),
        "es": ("¿Cuánto cuesta el envío?", "¿Cuándo llega la entrega?"),
        "pt": ("Quanto é o frete?", "Qual o prazo de entrega?"),
    },
    "order_status": {
        "zh-Hant": ("我的包裹到哪了？", "訂單幾時到？", "我嘅貨到咗未？"),
        "zh-Hans": ("我的包裹到哪了？", "订单什么时候到？"),
        "ja": ("注文した商品はいつ届きますか？", "荷物がまだ届きません"),
        "en": ("Where is my parcel?", "Any tracking number for my order?"),
        "es": ("¿Dónde está mi paquete?", "¿Me pasan el rastreo de mi pedido?"),
        "pt": ("Cadê minha encomenda?", "Pode mandar o rastreio do pedido?"),
    },
    "returns": {
        "zh-Hant": ("可以退貨嗎？", "尺寸不合，想換貨", "我想退款"),
        "zh-Hans": ("可以退货吗？", "我想退款"),
        "ja": ("返品できますか？", "交換をお願いしたいです"),
        "en": ("Can I return this?", "I'd like a refund please"),
        "es": ("¿Puedo hacer una devolución?", "Quiero un reembolso"),
        "pt": ("Posso fazer a devolução?", "Quero trocar o tamanho"),
    },
    "complaint": {
        "zh-Hant": ("質量太差，我要投訴", "等咗兩個禮拜，好失望", "客服態度很差"),
        "zh-Hans": ("质量太差，我要投诉", "太失望了"),
        "ja": ("ひどい対応です", "最悪です、がっかりしました"),
        "en": ("This is terrible, I want to complain", "Very disappointed with the quality"),
        "es": ("Pésimo servicio, quiero poner una queja", "Estoy muy decepcionada"),
        "pt": ("Péssimo atendimento, vou reclamar", "Horrível, chegou quebrado"),
    },
    "size": {
        "zh-Hant": ("M 尺碼有貨嗎？", "我平時穿S，這款偏大嗎？", "尺碼表有嗎？"),
        "zh-Hans": ("M码数有吗？", "这款尺寸偏小吗？"),
        "ja": ("Mサイズはありますか？", "サイズ感を教えてください"),
        "en": ("Do you have size M?", "Does it run small? what size should I get"),
        "es": ("¿Tienen talla M?", "¿Qué talla me recomiendan?"),
        "pt": ("Tem tamanho M?", "Qual tamanho vocês recomendam?"),
    },
    "quote": {
        "zh-Hant": ("想要報價，大量訂購200件", "批發價怎麼算？"),
        "zh-Hans": ("想要报价，批发200件", "团购有什么价格？"),
        "ja": ("見積をお願いします（200個）", "卸売の条件を教えてください"),
        "en": ("Can you send a quote for 200 units?", "wholesale pricing for a bulk order?"),
        "es": ("Necesito una cotización para 200 piezas", "¿Precio de mayoreo?"),
        "pt": ("Preciso de um orçamento para 200 peças", "Vocês vendem no atacado?"),
    },
    "store": {
        "zh-Hant": ("門市地址在哪？", "營業時間是幾點？"),
        "zh-Hans": ("门店地址在哪？", "营业时间是几点？"),
        "ja": ("店舗の住所を教えてください", "営業時間は？"),
        "en": ("What's your store address?", "opening hours on Sunday?"),
        "es": ("¿Cuál es la dirección de la tienda?", "¿Qué horario tienen?"),
        "pt": ("Qual o endereço da loja?", "Qual o horário de funcionamento?"),
    },
    "thanks": {
        "zh-Hant": ("謝謝！", "多謝晒！", "收到，謝謝你"),
        "zh-Hans": ("谢谢！", "好的，谢谢"),
        "ja": ("ありがとうございます！", "了解です、ありがとう"),
        "en": ("Thanks!", "thank you, great"),
        "es": ("¡Gracias!", "Perfecto, gracias"),
        "pt": ("Obrigado!", "Perfeito, obrigada"),
    },
    "greeting": {
        "zh-Hant": ("你好", "哈囉，請問有人在嗎？"),
        "zh-Hans": ("你好", "在吗？"),
        "ja": ("こんにちは", "すみません"),
        "en": ("Hi", "Hello, anyone there?"),
        "es": ("Hola", "Buenas tardes"),
        "pt": ("Olá", "Boa tarde"),
    },
}

AGENT: dict[str, tuple[str, ...]] = {
    "zh-Hant": ("您好，我幫你查一下", "收到，請稍等", "已經幫你處理好", "呢款而家有貨，HK$399"),
    "zh-Hans": ("您好，我帮您查一下", "收到，请稍等", "已经帮您处理好了"),
    "ja": ("お問い合わせありがとうございます。確認いたします", "少々お待ちください"),
    "en": ("Hi! Let me check that for you", "Sure, one moment please", "Done, anything else?"),
    "es": ("¡Hola! Lo reviso enseguida", "Claro, un momento por favor"),
    "pt": ("Olá! Vou verificar para você", "Claro, só um momento"),
}

BOT: dict[str, str] = {
    "zh-Hant": "您好！我係智能助手，客服同事稍後回覆 🙏",
    "zh-Hans": "您好！我是智能助手，客服稍后回复您 🙏",
    "ja": "お問い合わせありがとうございます。担当者より順次ご連絡します。",
    "en": "Hi! I'm the shop assistant bot. An agent will reply shortly.",
    "es": "¡Hola! Soy el asistente virtual. Un agente te responderá pronto.",
    "pt": "Olá! Sou o assistente virtual. Um atendente vai responder em breve.",
}

TEMPLATE_TEXT: dict[str, dict[str, str]] = {
    "weekly_promo": {"zh-Hant": "本週精選：全場8折！", "zh-Hans": "本周精选：全场8折！",
                     "ja": "今週のセール：全品20%オフ！",
                     "en": "This week: 20% off everything!", "es": "Esta semana: ¡20% de descuento!",
                     "pt": "Esta semana: 20% de desconto!"},
    "restock_alert": {"zh-Hant": "你關注的商品已補貨", "zh-Hans": "您关注的商品已补货",
                      "ja": "お気に入り商品が再入荷しました",
                      "en": "Back in stock: the item you liked", "es": "De nuevo disponible: tu producto favorito",
                      "pt": "De volta ao estoque: o produto que você curtiu"},
    "order_update": {"zh-Hant": "你的訂單已發貨", "zh-Hans": "您的订单已发货", "ja": "ご注文の商品を発送しました",
                     "en": "Your order has shipped", "es": "Tu pedido fue enviado", "pt": "Seu pedido foi enviado"},
}

TEMPLATE_LANGUAGE = {"zh-Hant": "zh_HK", "zh-Hans": "zh_CN", "ja": "ja", "en": "en", "es": "es_MX", "pt": "pt_BR"}
