// national_data: bench/national's synthetic owners (Japan's 1,741
// municipalities, simulated: 47 real prefectures times generated town
// names, each with a distinct node id and a 6-digit local-government code)
// and their datasets, deterministic for a given owner and sequence number,
// in the canonical form a tsunagu peer's change feed carries.
const prefs = [
  ['北海道', 'Hokkaido'], ['青森県', 'Aomori'], ['岩手県', 'Iwate'], ['宮城県', 'Miyagi'],
  ['秋田県', 'Akita'], ['山形県', 'Yamagata'], ['福島県', 'Fukushima'], ['茨城県', 'Ibaraki'],
  ['栃木県', 'Tochigi'], ['群馬県', 'Gunma'], ['埼玉県', 'Saitama'], ['千葉県', 'Chiba'],
  ['東京都', 'Tokyo'], ['神奈川県', 'Kanagawa'], ['新潟県', 'Niigata'], ['富山県', 'Toyama'],
  ['石川県', 'Ishikawa'], ['福井県', 'Fukui'], ['山梨県', 'Yamanashi'], ['長野県', 'Nagano'],
  ['岐阜県', 'Gifu'], ['静岡県', 'Shizuoka'], ['愛知県', 'Aichi'], ['三重県', 'Mie'],
  ['滋賀県', 'Shiga'], ['京都府', 'Kyoto'], ['大阪府', 'Osaka'], ['兵庫県', 'Hyogo'],
  ['奈良県', 'Nara'], ['和歌山県', 'Wakayama'], ['鳥取県', 'Tottori'], ['島根県', 'Shimane'],
  ['岡山県', 'Okayama'], ['広島県', 'Hiroshima'], ['山口県', 'Yamaguchi'], ['徳島県', 'Tokushima'],
  ['香川県', 'Kagawa'], ['愛媛県', 'Ehime'], ['高知県', 'Kochi'], ['福岡県', 'Fukuoka'],
  ['佐賀県', 'Saga'], ['長崎県', 'Nagasaki'], ['熊本県', 'Kumamoto'], ['大分県', 'Oita'],
  ['宮崎県', 'Miyazaki'], ['鹿児島県', 'Kagoshima'], ['沖縄県', 'Okinawa'],
];
const head = [['北', 'Kita'], ['南', 'Minami'], ['東', 'Higashi'], ['西', 'Nishi'], ['上', 'Kami'],
              ['下', 'Shimo'], ['大', 'O'], ['小', 'Ko'], ['高', 'Taka'], ['中', 'Naka'],
              ['新', 'Shin'], ['本', 'Moto']];
const tail = [['山', 'yama'], ['川', 'kawa'], ['田', 'ta'], ['野', 'no'], ['原', 'hara'],
              ['島', 'shima'], ['沢', 'sawa'], ['浜', 'hama'], ['津', 'tsu'], ['崎', 'saki'],
              ['岡', 'oka'], ['松', 'matsu']];
const kind = [['市', 'City'], ['町', 'Town'], ['村', 'Village']];
const rivers = [['石狩川', 'Ishikari River'], ['北上川', 'Kitakami River'], ['最上川', 'Mogami River'],
                ['阿武隈川', 'Abukuma River'], ['利根川', 'Tone River'], ['荒川', 'Arakawa River'],
                ['多摩川', 'Tama River'], ['信濃川', 'Shinano River'], ['富士川', 'Fuji River'],
                ['天竜川', 'Tenryu River'], ['木曽川', 'Kiso River'], ['淀川', 'Yodo River'],
                ['紀の川', 'Kino River'], ['吉野川', 'Yoshino River'], ['四万十川', 'Shimanto River'],
                ['太田川', 'Ota River'], ['筑後川', 'Chikugo River'], ['球磨川', 'Kuma River']];
const words = [['水位', 'water level'], ['雨量', 'rainfall'], ['河川', 'river'], ['ダム', 'dam'],
               ['放流', 'discharge'], ['人口', 'population'], ['統計', 'statistics'],
               ['バス', 'bus'], ['停留所', 'bus stop'], ['道路', 'road'], ['観光', 'tourism'],
               ['避難所', 'shelter'], ['防災', 'disaster prevention'], ['気象', 'weather'],
               ['地震', 'earthquake'], ['津波', 'tsunami'], ['公園', 'park'], ['図書館', 'library'],
               ['学校', 'school'], ['病院', 'hospital'], ['ごみ収集', 'waste collection'],
               ['上水道', 'water supply'], ['下水道', 'sewerage'], ['農業', 'agriculture'],
               ['森林', 'forest'], ['予算', 'budget'], ['駐車場', 'parking'], ['高齢者', 'elderly'],
               ['子育て', 'child care'], ['積雪', 'snow depth'], ['観測', 'observation'],
               ['洪水', 'flood']];
const themes = ['water', 'disaster', 'transport', 'population', 'environment', 'health',
                'education', 'economy'];
const context = {
  dct: 'http://purl.org/dc/terms/', dcat: 'http://www.w3.org/ns/dcat#',
  foaf: 'http://xmlns.com/foaf/0.1/', vcard: 'http://www.w3.org/2006/vcard/ns#',
  odrl: 'http://www.w3.org/ns/odrl/2/', skos: 'http://www.w3.org/2004/02/skos/core#',
  xsd: 'http://www.w3.org/2001/XMLSchema#', locn: 'http://www.w3.org/ns/locn#',
  gsp: 'http://www.opengis.net/ont/geosparql#', rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  tsunagu: 'urn:tsunagu:ns:',
};

// The first N owners: {id, code, ja, en, pref}.
export function owners(n) {
  const out = [];
  for (let i = 0; out.length < n; i++) {
    const p = i % prefs.length, k = Math.floor(i / prefs.length);
    const h = head[k % head.length], t = tail[Math.floor(k / head.length) % tail.length];
    const kd = kind[(i * 7) % 3];
    const code = String((p + 1) * 10000 + 100 + k * 7).padStart(6, '0');
    out.push({ id: `m${code}`, code, ja: `${prefs[p][0]}${h[0]}${t[0]}${kd[0]}`,
               en: `${h[1]}${t[1]} ${kd[1]}, ${prefs[p][1]}`, town: `${h[0]}${t[0]}${kd[0]}` });
  }
  return out;
}

function rng(seed) {
  let x = (seed * 2654435761) >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

// Dataset S (1-based) of owner O.
export function dataset(o, s) {
  const r = rng(Number(o.code) * 1000 + s);
  const a = words[r(words.length)], b = words[r(words.length)], rv = rivers[r(rivers.length)];
  const id = `urn:tsunagu:${o.id}:dataset:d${s}`;
  const river = r(3) === 0;
  const tja = river ? `${o.town}${rv[0]}${a[0]}観測データ ${s}` : `${o.town}${a[0]}${b[0]}データ ${s}`;
  const ten = river ? `${o.en} ${rv[1]} ${a[1]} observations ${s}` : `${o.en} ${a[1]} ${b[1]} data ${s}`;
  return {
    '@id': id,
    '@type': 'dcat:Dataset',
    'dcat:distribution': [{
      '@type': 'dcat:Distribution',
      'dcat:accessURL': { '@id': `https://${o.id}.example.lg.jp/api/v1/datasets/d${s}/data` },
      'dcat:mediaType': { '@id': `https://www.iana.org/assignments/media-types/${r(2) ? 'application/json' : 'text/csv'}`,
                          '@type': 'dct:MediaType' },
    }],
    'dcat:keyword': river ? [a[0], rv[0], a[1]] : [a[0], b[1]],
    'dcat:theme': [{ '@id': `urn:tsunagu:vocab:theme:${themes[r(themes.length)]}`, '@type': 'skos:Concept' }],
    'dct:description': [
      { '@language': 'ja', '@value': `${o.ja}が公開する${a[0]}と${b[0]}に関する${river ? rv[0] + 'の' : ''}記録。毎日更新。` },
      { '@language': 'en', '@value': `Records of ${a[1]} and ${b[1]}${river ? ' on the ' + rv[1] : ''}, published daily by ${o.en}.` },
    ],
    'dct:modified': { '@type': 'xsd:date', '@value': `20${15 + r(10)}-${String(1 + r(12)).padStart(2, '0')}-${String(1 + r(28)).padStart(2, '0')}` },
    'dct:publisher': { '@type': 'foaf:Agent', 'foaf:name': o.ja },
    'dct:spatial': [{ '@id': `urn:tsunagu:vocab:lg-code:${o.code}`, '@type': 'dct:Location' }],
    'dct:title': [{ '@language': 'ja', '@value': tja }, { '@language': 'en', '@value': ten }],
    'odrl:hasPolicy': {
      '@id': `${id}:policy`, '@type': ['odrl:Offer', 'odrl:Policy'],
      'odrl:permission': [{ 'odrl:action': { '@id': 'odrl:use' }, 'odrl:assignee': { '@id': 'urn:tsunagu:federation' } }],
    },
    '@context': context,
  };
}
